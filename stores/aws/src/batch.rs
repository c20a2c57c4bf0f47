//! Collecting reads of current versions into `BatchGetSecretValue` calls.
//!
//! Data flow: each read of a current version [`Collector::submit`]s its secret id; the first
//! id of a window spawns one flush task that sleeps for the window (a few tens of
//! milliseconds, long enough for the ExternalSecrets due together to queue their reads), then
//! takes every queued id and hands them to the flush function, which [`chunks`] the distinct
//! ids into calls of at most [`crate::sm::BATCH_LIMIT`] and answers each queued read in order.
//! A read whose task is cancelled simply drops its receiver; the flush still runs for the
//! others.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::oneshot;

/// How long a window collects ids before they are sent.
pub const WINDOW: Duration = Duration::from_millis(25);

/// The distinct `ids`, in first-seen order, cut into runs of at most `limit`.
pub(crate) fn chunks(ids: &[String], limit: usize) -> Vec<Vec<String>> {
    let mut distinct: Vec<String> = Vec::with_capacity(ids.len());
    for id in ids {
        if !distinct.contains(id) {
            distinct.push(id.clone());
        }
    }
    distinct
        .chunks(limit.max(1))
        .map(<[String]>::to_vec)
        .collect()
}

type Waiter<V> = (String, oneshot::Sender<V>);

/// Reads waiting for the current window's flush.
pub(crate) struct Collector<V> {
    window: Duration,
    pending: Mutex<Option<Vec<Waiter<V>>>>,
}

impl<V: Send + 'static> Collector<V> {
    pub(crate) fn new(window: Duration) -> Arc<Self> {
        Arc::new(Collector {
            window,
            pending: Mutex::new(None),
        })
    }

    /// Queue `id` and wait for its answer. When this opens a window, `flush` is spawned for it:
    /// given every id queued in the window (duplicates included, in order), it returns one
    /// answer per id in the same order. `None` when the flush gave no answer for this read.
    pub(crate) async fn submit<F, Fut>(self: &Arc<Self>, id: String, flush: F) -> Option<V>
    where
        F: FnOnce(Vec<String>) -> Fut + Send + 'static,
        Fut: Future<Output = Vec<V>> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let opens = {
            let mut pending = match self.pending.lock() {
                Ok(guard) => guard,
                Err(poisoned) => poisoned.into_inner(),
            };
            match pending.as_mut() {
                Some(waiters) => {
                    waiters.push((id, tx));
                    false
                }
                None => {
                    *pending = Some(vec![(id, tx)]);
                    true
                }
            }
        };
        if opens {
            let collector = Arc::clone(self);
            tokio::spawn(async move {
                tokio::time::sleep(collector.window).await;
                let waiters = {
                    let mut pending = match collector.pending.lock() {
                        Ok(guard) => guard,
                        Err(poisoned) => poisoned.into_inner(),
                    };
                    pending.take().unwrap_or_default()
                };
                let (ids, senders): (Vec<String>, Vec<_>) = waiters.into_iter().unzip();
                let answers = flush(ids).await;
                for (sender, answer) in senders.into_iter().zip(answers) {
                    // A reader that gave up has dropped its receiver; nothing to do.
                    let _ = sender.send(answer);
                }
            });
        }
        rx.await.ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn chunks_are_distinct_and_bounded() {
        let ids: Vec<String> = (0..45).map(|i| format!("s{}", i % 42)).collect();
        let runs = chunks(&ids, 20);
        assert_eq!(runs.iter().map(Vec::len).collect::<Vec<_>>(), [20, 20, 2]);
        assert_eq!(runs[0][0], "s0");
        assert_eq!(runs[2], ["s40", "s41"]);
        assert!(chunks(&[], 20).is_empty());
    }

    #[tokio::test]
    async fn one_window_one_flush_answers_in_order() {
        let collector = Collector::<String>::new(Duration::from_millis(30));
        let flushes = Arc::new(AtomicUsize::new(0));
        let mut reads = Vec::new();
        for i in 0..30 {
            let collector = Arc::clone(&collector);
            let flushes = Arc::clone(&flushes);
            reads.push(tokio::spawn(async move {
                collector
                    .submit(format!("id{}", i % 25), move |ids| async move {
                        flushes.fetch_add(1, Ordering::SeqCst);
                        ids.iter().map(|id| format!("value of {id}")).collect()
                    })
                    .await
            }));
        }
        for (i, read) in reads.into_iter().enumerate() {
            let answer = read.await.unwrap();
            assert_eq!(
                answer.as_deref(),
                Some(format!("value of id{}", i % 25).as_str())
            );
        }
        assert_eq!(flushes.load(Ordering::SeqCst), 1);
        // The next read opens a new window.
        let again = collector
            .submit("late".into(), |ids| async move { ids })
            .await;
        assert_eq!(again.as_deref(), Some("late"));
    }

    #[tokio::test]
    async fn a_short_answer_list_leaves_reads_unanswered() {
        let collector = Collector::<u8>::new(Duration::from_millis(1));
        let answer = collector.submit("a".into(), |_| async { Vec::new() }).await;
        assert_eq!(answer, None);
    }
}
