//! Just enough protobuf to read the access reviews kubectl's typed client sends (`kubectl
//! auth can-i` posts a SelfSubjectAccessReview as `application/vnd.kubernetes.protobuf`, and
//! kube-standin otherwise speaks JSON only). Field numbers are those of
//! `k8s.io/api/authorization/v1/generated.proto`; everything else is skipped.
//!
//! Data flow: `k8s\0` magic → `runtime.Unknown` {1: typeMeta, 2: raw} → raw review {2: spec}
//! → spec {1: resourceAttributes, 2: nonResourceAttributes, 3: user, 4: groups} → the JSON
//! the handler reads.

use serde_json::{Map, Value, json};

/// The review in `bytes` as JSON (`{"spec": …}`), or `None` when it is not one.
pub(super) fn review(bytes: &[u8], self_review: bool) -> Option<Value> {
    let unknown = bytes.strip_prefix(b"k8s\0")?;
    let raw = fields(unknown)?
        .into_iter()
        .find(|(number, _)| *number == 2)
        .map(|(_, value)| value)?;
    let spec = fields(raw)?
        .into_iter()
        .find(|(number, _)| *number == 2)
        .map_or(&[][..], |(_, value)| value);
    let mut out = Map::new();
    let mut groups = Vec::new();
    for (number, value) in fields(spec)? {
        match number {
            1 => {
                let names = [
                    "namespace",
                    "verb",
                    "group",
                    "version",
                    "resource",
                    "subresource",
                    "name",
                ];
                out.insert("resourceAttributes".into(), strings(value, &names)?);
            }
            2 => {
                out.insert(
                    "nonResourceAttributes".into(),
                    strings(value, &["path", "verb"])?,
                );
            }
            3 if !self_review => {
                out.insert("user".into(), json!(text(value)?));
            }
            4 if !self_review => groups.push(json!(text(value)?)),
            _ => {}
        }
    }
    if !groups.is_empty() {
        out.insert("groups".into(), Value::Array(groups));
    }
    Some(json!({"spec": out}))
}

/// A message whose fields 1..=n are strings named `names`, as a JSON object of the non-empty
/// ones (sub-messages such as selectors are skipped).
fn strings(message: &[u8], names: &[&str]) -> Option<Value> {
    let mut out = Map::new();
    for (number, value) in fields(message)? {
        let index = usize::try_from(number).ok()?.checked_sub(1)?;
        if let Some(name) = names.get(index) {
            let value = text(value)?;
            if !value.is_empty() {
                out.insert((*name).to_owned(), json!(value));
            }
        }
    }
    Some(Value::Object(out))
}

fn text(bytes: &[u8]) -> Option<String> {
    String::from_utf8(bytes.to_vec()).ok()
}

/// The length-delimited fields of a message, in order; other wire types are skipped.
fn fields(mut message: &[u8]) -> Option<Vec<(u64, &[u8])>> {
    let mut out = Vec::new();
    while !message.is_empty() {
        let (key, rest) = varint(message)?;
        message = rest;
        let skip = match key & 7 {
            0 => varint(message)?.1.len(),
            1 => message.len().checked_sub(8)?,
            5 => message.len().checked_sub(4)?,
            2 => {
                let (len, rest) = varint(message)?;
                let len = usize::try_from(len).ok()?;
                let value = rest.get(..len)?;
                out.push((key >> 3, value));
                rest.len().checked_sub(len)?
            }
            _ => return None,
        };
        message = message.get(message.len() - skip..)?;
    }
    Some(out)
}

/// A base-128 varint and the bytes after it.
fn varint(bytes: &[u8]) -> Option<(u64, &[u8])> {
    let mut value = 0u64;
    for (index, byte) in bytes.iter().enumerate().take(10) {
        value |= u64::from(byte & 0x7f) << (7 * index);
        if byte & 0x80 == 0 {
            return Some((value, bytes.get(index + 1..)?));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A length-delimited field.
    fn field(number: u8, value: &[u8]) -> Vec<u8> {
        let mut out = vec![(number << 3) | 2, u8::try_from(value.len()).unwrap()];
        out.extend_from_slice(value);
        out
    }

    #[test]
    fn reads_a_self_review_as_kubectl_sends_it() {
        let attributes = [
            field(1, b""),
            field(2, b"get"),
            field(5, b"secrets"),
            field(7, b"db"),
        ]
        .concat();
        let spec = field(1, &attributes);
        let review = [field(1, b""), field(2, &spec), field(3, b"")].concat();
        let type_meta = [
            field(1, b"authorization.k8s.io/v1"),
            field(2, b"SelfSubjectAccessReview"),
        ]
        .concat();
        let mut bytes = b"k8s\0".to_vec();
        bytes.extend([field(1, &type_meta), field(2, &review)].concat());
        // A varint field (wire type 0) in between is skipped.
        bytes.extend([0x18, 0x96, 0x01]);
        assert_eq!(
            review_of(&bytes, true),
            json!({"spec": {"resourceAttributes": {"verb": "get", "resource": "secrets", "name": "db"}}})
        );
    }

    fn review_of(bytes: &[u8], self_review: bool) -> Value {
        review(bytes, self_review).unwrap()
    }

    #[test]
    fn reads_user_and_groups_of_a_subject_review() {
        let spec = [
            field(2, &[field(1, b"/metrics"), field(2, b"get")].concat()),
            field(3, b"alice"),
            field(4, b"dev"),
            field(4, b"ops"),
        ]
        .concat();
        let mut bytes = b"k8s\0".to_vec();
        bytes.extend(field(2, &field(2, &spec)));
        assert_eq!(
            review_of(&bytes, false),
            json!({"spec": {"nonResourceAttributes": {"path": "/metrics", "verb": "get"}, "user": "alice", "groups": ["dev", "ops"]}})
        );
    }

    #[test]
    fn garbage_is_refused_without_panicking() {
        assert_eq!(review(b"{}", true), None);
        assert_eq!(review(b"k8s\0\x12\x05ab", true), None);
        assert_eq!(
            review(b"k8s\0\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", true),
            None
        );
        assert_eq!(review(b"k8s\0\x0f", true), None);
    }
}
