//! The object store: every object as JSON under `(group, plural, namespace, name)`, one
//! resourceVersion counter for everything, and an event log that watches replay from.
//!
//! Data flow of a write: lock → read the current object → decide the new one with the
//! semantics of kube-apiserver (preconditions, status subresource, generation, finalizers) →
//! bump the counter → store → append `ADDED/MODIFIED/DELETED` to the log and broadcast it →
//! unlock. Watches subscribe under the same lock, so no event falls between replay and live.

mod event_views;
mod meta;
mod watch;

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{Value, json};
use tokio::sync::broadcast;

pub(crate) use event_views::is_events_view;
pub use watch::{EventType, WatchEvent, WatchStart};

use crate::api::ApiError;
use crate::managed_fields;
use crate::registry::{Registry, ResKey, ResourceDef};
use meta::{now_rfc3339, random_suffix, uid};

/// Events kept for watch resumption; older resourceVersions get `410 Gone`.
pub const DEFAULT_HISTORY: usize = 50_000;

type ObjKey = (ResKey, String, String);

/// The shared store.
pub struct Store {
    inner: Mutex<Inner>,
    events: broadcast::Sender<Arc<WatchEvent>>,
    /// Poked after deletes so the background task collects garbage and empties namespaces.
    background: tokio::sync::Notify,
}

pub(crate) struct Inner {
    rv: u64,
    objects: BTreeMap<ObjKey, Arc<Value>>,
    log: VecDeque<Arc<WatchEvent>>,
    history: usize,
    /// Lowest resourceVersion a watch may resume from (raised by compaction).
    compacted: u64,
    /// Events of the operation in progress, published when it succeeds.
    pending: Vec<Arc<WatchEvent>>,
    pub(crate) registry: Registry,
}

/// Options of a delete.
#[derive(Debug, Default, Clone)]
pub struct DeleteOptions {
    /// Only delete this uid.
    pub uid: Option<String>,
    /// Only delete at this resourceVersion.
    pub resource_version: Option<String>,
}

/// A list result.
pub struct ListResult {
    /// Matching objects, sorted by namespace and name.
    pub items: Vec<Arc<Value>>,
    /// The store's resourceVersion at list time.
    pub resource_version: u64,
    /// Token for the next page.
    pub continue_token: Option<String>,
}

/// Who writes, for `metadata.managedFields`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Manager<'a> {
    /// A create, update or non-apply patch by this field manager: recorded as its `Update`
    /// entry (what it set or changed is its, and no longer anyone else's).
    Update(&'a str),
    /// A server-side apply, whose managedFields `patch::apply` computed: stored as they are.
    Apply,
    /// The stand-in itself (the default namespaces): nothing is recorded.
    Server,
}

/// What kind of write an update is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subresource {
    /// The main resource.
    Main,
    /// `/status`.
    Status,
}

impl Subresource {
    /// The subresource's name as `managedFields` entries record it (`None`: the main resource).
    pub fn name(self) -> Option<&'static str> {
        match self {
            Subresource::Main => None,
            Subresource::Status => Some("status"),
        }
    }
}

impl Store {
    /// An empty store with the default namespaces.
    pub fn new(history: usize) -> Arc<Store> {
        let (events, _) = broadcast::channel(history.clamp(1024, 1 << 17));
        let store = Arc::new(Store {
            inner: Mutex::new(Inner {
                rv: 1,
                objects: BTreeMap::new(),
                log: VecDeque::new(),
                history,
                compacted: 0,
                pending: Vec::new(),
                registry: Registry::default(),
            }),
            events,
            background: tokio::sync::Notify::new(),
        });
        for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
            let def = store.def("", "v1", "namespaces");
            if let Some(def) = def {
                let _ = store.create(&def, None, json!({"metadata": {"name": ns}}));
            }
        }
        store
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock would be a bug in this test server; keep serving.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The served resource at group/version/plural.
    pub fn def(&self, group: &str, version: &str, plural: &str) -> Option<ResourceDef> {
        self.lock().registry.find(group, version, plural).cloned()
    }

    /// A copy of the registry (for discovery).
    pub fn registry(&self) -> Registry {
        self.lock().registry.clone()
    }

    /// Current resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.lock().rv
    }

    /// Wait until a delete asks for background work.
    pub async fn background_wanted(&self) {
        self.background.notified().await;
    }

    /// Drop the event history, as etcd compaction does: watches from older versions get 410.
    pub fn compact(&self) {
        let mut inner = self.lock();
        inner.log.clear();
        inner.compacted = inner.rv;
    }

    /// Read one object.
    pub fn get(&self, def: &ResourceDef, ns: Option<&str>, name: &str) -> Result<Value, ApiError> {
        let inner = self.lock();
        inner.get(def, ns, name).map(|v| versioned(def, &v))
    }

    /// Look an object up by storage key without a served definition (GC, token review).
    pub fn get_raw(&self, key: &ResKey, ns: &str, name: &str) -> Option<Arc<Value>> {
        self.lock()
            .objects
            .get(&(key.clone(), ns.to_owned(), name.to_owned()))
            .cloned()
    }

    /// List objects of a resource, optionally in one namespace, filtered, paged.
    pub fn list(
        &self,
        def: &ResourceDef,
        ns: Option<&str>,
        filter: &dyn Fn(&Value) -> bool,
        limit: Option<usize>,
        continue_token: Option<&str>,
    ) -> Result<ListResult, ApiError> {
        let inner = self.lock();
        let start = match continue_token {
            Some(token) => Some(meta::decode_continue(token)?),
            None => None,
        };
        let key = def.key();
        let mut items = Vec::new();
        let mut next = None;
        for ((k, obj_ns, name), obj) in inner
            .objects
            .range((key.clone(), String::new(), String::new())..)
        {
            if *k != key {
                break;
            }
            if ns.is_some_and(|ns| ns != obj_ns) {
                continue;
            }
            if let Some((after_ns, after_name)) = &start
                && (obj_ns, name) <= (after_ns, after_name)
            {
                continue;
            }
            // Selectors see the view the client asked through (`regarding.name` on
            // events.k8s.io events, `involvedObject.name` on core ones).
            let matched = if event_views::is_events_view(def) {
                filter(&versioned(def, obj))
            } else {
                filter(obj)
            };
            if !matched {
                continue;
            }
            if limit.is_some_and(|limit| items.len() >= limit) {
                next = items
                    .last()
                    .map(|last: &Arc<Value>| meta::encode_continue(last));
                break;
            }
            items.push(Arc::new(versioned(def, obj)));
        }
        Ok(ListResult {
            items,
            resource_version: inner.rv,
            continue_token: next,
        })
    }

    /// Create an object as the stand-in itself (nothing recorded in managedFields): for
    /// seeding objects from tests.
    pub fn create(
        &self,
        def: &ResourceDef,
        ns: Option<&str>,
        body: Value,
    ) -> Result<Value, ApiError> {
        self.create_as(def, ns, body, Manager::Server)
    }

    /// Create an object, recording the write as `manager`'s.
    pub fn create_as(
        &self,
        def: &ResourceDef,
        ns: Option<&str>,
        body: Value,
        manager: Manager<'_>,
    ) -> Result<Value, ApiError> {
        self.write(def, |inner| inner.create(def, ns, body, manager))
    }

    /// Replace an object (PUT), on the main resource or `/status`, as the stand-in itself
    /// (nothing recorded in managedFields): for tests that set a state.
    pub fn update(
        &self,
        def: &ResourceDef,
        ns: Option<&str>,
        name: &str,
        body: Value,
        sub: Subresource,
    ) -> Result<Value, ApiError> {
        self.update_as(def, ns, name, body, sub, Manager::Server)
    }

    /// Replace an object (PUT), on the main resource or `/status`, recording the write as
    /// `manager`'s.
    pub fn update_as(
        &self,
        def: &ResourceDef,
        ns: Option<&str>,
        name: &str,
        body: Value,
        sub: Subresource,
        manager: Manager<'_>,
    ) -> Result<Value, ApiError> {
        self.write(def, |inner| inner.update(def, ns, name, body, sub, manager))
    }

    /// Read-modify-write under the lock: `change` gets the current object (or `None`) and
    /// returns the desired one; an absent object is created by an apply to the main resource
    /// (other patches get 404), as in kube-apiserver.
    pub fn modify(
        &self,
        def: &ResourceDef,
        ns: Option<&str>,
        name: &str,
        sub: Subresource,
        manager: Manager<'_>,
        change: impl FnOnce(Option<&Value>) -> Result<Value, ApiError>,
    ) -> Result<Value, ApiError> {
        let create_missing = manager == Manager::Apply && sub == Subresource::Main;
        self.write(def, |inner| match inner.get(def, ns, name).ok() {
            Some(current) => {
                let mut desired = change(Some(&versioned(def, &current)))?;
                // A patch is against the object read under this lock: no lost update, so a
                // resourceVersion it carries over is the current one.
                if desired["metadata"]["resourceVersion"].is_null() {
                    desired["metadata"]["resourceVersion"] =
                        current["metadata"]["resourceVersion"].clone();
                }
                inner.update(def, ns, name, desired, sub, manager)
            }
            None if create_missing => {
                let mut desired = change(None)?;
                desired["metadata"]["name"] = json!(name);
                inner.create(def, ns, desired, manager)
            }
            None => Err(ApiError::not_found(def.target(), name)),
        })
    }

    /// Delete (or mark for deletion when finalizers remain).
    pub fn delete(
        &self,
        def: &ResourceDef,
        ns: Option<&str>,
        name: &str,
        options: &DeleteOptions,
    ) -> Result<Value, ApiError> {
        let result = self.write(def, |inner| inner.delete(def, ns, name, options))?;
        self.background.notify_one();
        Ok(result)
    }

    /// Garbage-collect objects whose owners are all gone and empty terminating namespaces.
    /// Returns how many objects it deleted or marked.
    pub fn collect_garbage(&self) -> usize {
        let mut inner = self.lock();
        let n = inner.collect_garbage();
        self.publish(&mut inner);
        n
    }

    /// Start a watch: subscribe, then compute the replay under the same lock.
    pub fn watch(
        &self,
        def: &ResourceDef,
        ns: Option<&str>,
        resource_version: Option<u64>,
    ) -> Result<WatchStart, ApiError> {
        let inner = self.lock();
        let receiver = self.events.subscribe();
        watch::start(&inner, def, ns, resource_version, receiver)
    }

    /// Run one write under the lock, publish its events, answer in the requested version.
    fn write(
        &self,
        def: &ResourceDef,
        op: impl FnOnce(&mut Inner) -> Result<Value, ApiError>,
    ) -> Result<Value, ApiError> {
        let mut inner = self.lock();
        let result = op(&mut inner);
        self.publish(&mut inner);
        result.map(|value| versioned(def, &value))
    }

    /// Move events appended by the last operation from `pending` to the log and the channel.
    fn publish(&self, inner: &mut Inner) {
        let pending = std::mem::take(&mut inner.pending);
        for event in pending {
            inner.log.push_back(event.clone());
            while inner.log.len() > inner.history {
                if let Some(dropped) = inner.log.pop_front() {
                    inner.compacted = dropped.resource_version;
                }
            }
            // No receivers is fine: nobody watches yet.
            let _ = self.events.send(event);
        }
    }
}

/// The object as the client asked for it: in the view of `def` (events.k8s.io events rename
/// fields) with its apiVersion (storage keeps one version).
pub(crate) fn versioned(def: &ResourceDef, obj: &Value) -> Value {
    let mut out = event_views::to_view(def, obj.clone());
    out["apiVersion"] = json!(def.api_version());
    out["kind"] = json!(def.kind);
    out
}

impl Inner {
    fn emit(
        &mut self,
        key: &ResKey,
        kind: EventType,
        object: Arc<Value>,
        previous: Option<Arc<Value>>,
    ) {
        let event = Arc::new(WatchEvent {
            resource_version: self.rv,
            key: key.clone(),
            namespace: object["metadata"]["namespace"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            kind,
            object,
            previous,
        });
        self.pending.push(event);
    }

    fn next_rv(&mut self) -> u64 {
        self.rv += 1;
        self.rv
    }

    fn get(&self, def: &ResourceDef, ns: Option<&str>, name: &str) -> Result<Arc<Value>, ApiError> {
        let key = (def.key(), scoped_ns(def, ns), name.to_owned());
        self.objects
            .get(&key)
            .cloned()
            .ok_or_else(|| ApiError::not_found(def.target(), name))
    }

    fn namespace_state(&self, ns: &str) -> Option<bool> {
        let key = (
            ResKey {
                group: String::new(),
                resource: "namespaces".into(),
            },
            String::new(),
            ns.to_owned(),
        );
        self.objects
            .get(&key)
            .map(|obj| obj["metadata"]["deletionTimestamp"].is_null())
    }

    fn create(
        &mut self,
        def: &ResourceDef,
        ns: Option<&str>,
        body: Value,
        manager: Manager<'_>,
    ) -> Result<Value, ApiError> {
        if def.create_only {
            return Err(ApiError::method_not_allowed(
                "create is handled by its own endpoint",
            ));
        }
        meta::check_type(def, &body)?;
        let mut body = event_views::to_storage(def, body);
        if !body.is_object() {
            return Err(ApiError::bad_request(
                "the request body must be a JSON object",
            ));
        }
        let ns = self.check_namespace(def, ns, &body)?;
        let name = match body["metadata"]["name"].as_str().filter(|n| !n.is_empty()) {
            Some(name) => name.to_owned(),
            None => match body["metadata"]["generateName"].as_str() {
                Some(prefix) => format!("{prefix}{}", random_suffix()),
                None => {
                    return Err(ApiError::invalid(
                        def.target(),
                        "",
                        "metadata.name",
                        "Required value: name or generateName is required",
                    ));
                }
            },
        };
        meta::validate_name(def, &name)?;
        meta::apply_defaults(def, &mut body);
        let key = (def.key(), ns.clone(), name.clone());
        if self.objects.contains_key(&key) {
            return Err(ApiError::already_exists(def.target(), &name));
        }
        if def.plural == "customresourcedefinitions" {
            body["metadata"]["name"] = json!(name);
            self.registry
                .register_crd(&body)
                .map_err(|why| ApiError::invalid(def.target(), &name, "spec", &why))?;
            meta::crd_status(&mut body);
        }
        let rv = self.next_rv();
        let metadata = &mut body["metadata"];
        metadata["name"] = json!(name);
        if def.namespaced {
            metadata["namespace"] = json!(ns);
        } else if let Some(m) = metadata.as_object_mut() {
            m.remove("namespace");
        }
        metadata["uid"] = json!(uid());
        metadata["resourceVersion"] = json!(rv.to_string());
        metadata["creationTimestamp"] = json!(now_rfc3339());
        if let Some(m) = metadata.as_object_mut() {
            m.remove("deletionTimestamp");
            m.remove("deletionGracePeriodSeconds");
        }
        if def.generation {
            body["metadata"]["generation"] = json!(1);
        }
        if def.status_subresource
            && def.plural != "customresourcedefinitions"
            && let Some(m) = body.as_object_mut()
        {
            m.remove("status");
        }
        if def.plural == "namespaces" {
            body["spec"] = json!({"finalizers": ["kubernetes"]});
            body["status"] = json!({"phase": "Active"});
        }
        body["apiVersion"] = json!(def.api_version());
        body["kind"] = json!(def.kind);
        if let Manager::Update(manager) = manager {
            // A create keeps managedFields the client sent (kube-apiserver honours them) and
            // records its own write on top.
            let sent = managed_fields::entries_of(&body)
                .cloned()
                .unwrap_or_default();
            let reset = managed_fields::is_reset(&body);
            let entries = if reset {
                Vec::new()
            } else {
                let (now, api_version) = (now_rfc3339(), def.api_version());
                let write = record(def, Subresource::Main, manager, &api_version, &now);
                managed_fields::record_update(&sent, None, &body, &write)
            };
            set_managed_fields(&mut body, entries);
        }
        let stored = Arc::new(body);
        self.objects.insert(key, stored.clone());
        self.emit(&def.key(), EventType::Added, stored.clone(), None);
        Ok((*stored).clone())
    }

    /// The namespace an object goes to, checked against the body and against existence.
    fn check_namespace(
        &self,
        def: &ResourceDef,
        ns: Option<&str>,
        body: &Value,
    ) -> Result<String, ApiError> {
        if !def.namespaced {
            return Ok(String::new());
        }
        let body_ns = body["metadata"]["namespace"]
            .as_str()
            .filter(|s| !s.is_empty());
        let ns = match (ns, body_ns) {
            (Some(url), Some(body)) if url != body => {
                return Err(ApiError::bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request",
                ));
            }
            (Some(url), _) => url,
            (None, Some(body)) => body,
            (None, None) => {
                return Err(ApiError::bad_request(
                    "a namespace is required for a namespaced resource",
                ));
            }
        };
        match self.namespace_state(ns) {
            None => Err(ApiError::not_found(
                crate::api::Target {
                    resource: "namespaces",
                    group: "",
                    kind: "Namespace",
                },
                ns,
            )),
            Some(false) => Err(ApiError::forbidden(format!(
                "{} \"{}\" is forbidden: unable to create new content in namespace {ns} because it is being terminated",
                def.plural,
                body["metadata"]["name"].as_str().unwrap_or_default()
            ))),
            Some(true) => Ok(ns.to_owned()),
        }
    }

    fn update(
        &mut self,
        def: &ResourceDef,
        ns: Option<&str>,
        name: &str,
        body: Value,
        sub: Subresource,
        manager: Manager<'_>,
    ) -> Result<Value, ApiError> {
        meta::check_type(def, &body)?;
        let mut body = event_views::to_storage(def, body);
        let ns = scoped_ns(def, ns);
        let key = (def.key(), ns.clone(), name.to_owned());
        let current = self
            .objects
            .get(&key)
            .cloned()
            .ok_or_else(|| ApiError::not_found(def.target(), name))?;
        if let Some(body_name) = body["metadata"]["name"].as_str()
            && body_name != name
        {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({body_name}) does not match the name on the URL ({name})"
            )));
        }
        if let Some(body_ns) = body["metadata"]["namespace"]
            .as_str()
            .filter(|s| !s.is_empty())
            && def.namespaced
            && body_ns != ns
        {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
        let stale = "the object has been modified; please apply your changes to the latest version and try again";
        match body["metadata"]["resourceVersion"].as_str() {
            Some(rv) if !rv.is_empty() && rv != current["metadata"]["resourceVersion"] => {
                return Err(ApiError::conflict(def.target(), name, stale));
            }
            _ => {}
        }
        precondition(def, name, &current, "uid", body["metadata"]["uid"].as_str())?;
        // An update starts from the managedFields it sends (so a client may edit them), or the
        // stored ones when it sends none or writes a subresource, as kube-apiserver does; a
        // single empty entry clears them.
        let reset = sub == Subresource::Main && managed_fields::is_reset(&body);
        let base: Vec<Value> = match managed_fields::entries_of(&body) {
            Some(sent) if sub == Subresource::Main => sent.clone(),
            _ => managed_fields::entries_of(&current)
                .cloned()
                .unwrap_or_default(),
        };
        let mut desired = match sub {
            Subresource::Status => {
                let mut next = (*current).clone();
                next["status"] = body.get("status").cloned().unwrap_or(Value::Null);
                // A server-side apply to /status records its manager's entry.
                if manager == Manager::Apply
                    && let Some(managed) = body["metadata"].get("managedFields")
                {
                    next["metadata"]["managedFields"] = managed.clone();
                }
                next
            }
            Subresource::Main => {
                if def.status_subresource {
                    body["status"] = current.get("status").cloned().unwrap_or(Value::Null);
                }
                body
            }
        };
        meta::keep_system_fields(&mut desired, &current, def);
        meta::apply_defaults(def, &mut desired);
        meta::check_immutable(def, &current, &desired)?;
        if def.plural == "customresourcedefinitions" && sub == Subresource::Main {
            self.registry
                .register_crd(&desired)
                .map_err(|why| ApiError::invalid(def.target(), name, "spec", &why))?;
            meta::crd_status(&mut desired);
        }
        if def.generation && meta::spec_changed(&current, &desired) {
            let generation = current["metadata"]["generation"].as_i64().unwrap_or(1) + 1;
            desired["metadata"]["generation"] = json!(generation);
        }
        if let Manager::Update(manager) = manager {
            let entries = if reset {
                Vec::new()
            } else {
                let (now, api_version) = (now_rfc3339(), def.api_version());
                let write = record(def, sub, manager, &api_version, &now);
                managed_fields::record_update(&base, Some(&current), &desired, &write)
            };
            set_managed_fields(&mut desired, entries);
        }
        if meta::same_content(&current, &desired) {
            return Ok((*current).clone());
        }
        let terminating = !desired["metadata"]["deletionTimestamp"].is_null();
        let no_finalizers = desired["metadata"]["finalizers"]
            .as_array()
            .is_none_or(Vec::is_empty);
        let rv = self.next_rv();
        desired["metadata"]["resourceVersion"] = json!(rv.to_string());
        let stored = Arc::new(desired);
        if terminating && no_finalizers && def.plural != "namespaces" {
            self.objects.remove(&key);
            self.emit(
                &def.key(),
                EventType::Deleted,
                stored.clone(),
                Some(current),
            );
            self.after_delete(def, &stored);
        } else {
            self.objects.insert(key, stored.clone());
            self.emit(
                &def.key(),
                EventType::Modified,
                stored.clone(),
                Some(current),
            );
        }
        Ok((*stored).clone())
    }

    fn delete(
        &mut self,
        def: &ResourceDef,
        ns: Option<&str>,
        name: &str,
        options: &DeleteOptions,
    ) -> Result<Value, ApiError> {
        let key = (def.key(), scoped_ns(def, ns), name.to_owned());
        let current = self
            .objects
            .get(&key)
            .cloned()
            .ok_or_else(|| ApiError::not_found(def.target(), name))?;
        precondition(def, name, &current, "uid", options.uid.as_deref())?;
        precondition(
            def,
            name,
            &current,
            "resourceVersion",
            options.resource_version.as_deref(),
        )?;
        self.delete_key(def, key, current)
    }

    /// Delete or mark: shared by DELETE, GC and namespace cleanup.
    fn delete_key(
        &mut self,
        def: &ResourceDef,
        key: ObjKey,
        current: Arc<Value>,
    ) -> Result<Value, ApiError> {
        let has_finalizers = current["metadata"]["finalizers"]
            .as_array()
            .is_some_and(|f| !f.is_empty());
        if has_finalizers || def.plural == "namespaces" {
            if !current["metadata"]["deletionTimestamp"].is_null() {
                return Ok((*current).clone());
            }
            let mut marked = (*current).clone();
            marked["metadata"]["deletionTimestamp"] = json!(now_rfc3339());
            marked["metadata"]["deletionGracePeriodSeconds"] = json!(0);
            if def.plural == "namespaces" {
                marked["status"]["phase"] = json!("Terminating");
            }
            let rv = self.next_rv();
            marked["metadata"]["resourceVersion"] = json!(rv.to_string());
            let stored = Arc::new(marked);
            self.objects.insert(key, stored.clone());
            self.emit(
                &def.key(),
                EventType::Modified,
                stored.clone(),
                Some(current),
            );
            return Ok((*stored).clone());
        }
        self.objects.remove(&key);
        let rv = self.next_rv();
        let mut gone = (*current).clone();
        gone["metadata"]["resourceVersion"] = json!(rv.to_string());
        let gone = Arc::new(gone);
        self.emit(&def.key(), EventType::Deleted, gone.clone(), Some(current));
        self.after_delete(def, &gone);
        Ok((*gone).clone())
    }

    /// A CRD's instances go with it.
    fn after_delete(&mut self, def: &ResourceDef, gone: &Value) {
        if def.plural != "customresourcedefinitions" {
            return;
        }
        let name = gone["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        if let Some(key) = self.registry.unregister_crd(&name) {
            let doomed: Vec<ObjKey> = self
                .objects
                .keys()
                .filter(|(k, _, _)| *k == key)
                .cloned()
                .collect();
            for obj_key in doomed {
                if let Some(obj) = self.objects.remove(&obj_key) {
                    self.next_rv();
                    self.emit(&key, EventType::Deleted, obj.clone(), Some(obj));
                }
            }
        }
    }

    fn collect_garbage(&mut self) -> usize {
        let mut total = 0;
        loop {
            let uids: std::collections::HashSet<String> = self
                .objects
                .values()
                .filter_map(|o| o["metadata"]["uid"].as_str().map(str::to_owned))
                .collect();
            let terminating: Vec<String> = self
                .objects
                .iter()
                .filter(|((k, _, _), o)| {
                    k.group.is_empty()
                        && k.resource == "namespaces"
                        && !o["metadata"]["deletionTimestamp"].is_null()
                })
                .map(|((_, _, name), _)| name.clone())
                .collect();
            let doomed: Vec<(ObjKey, Arc<Value>)> = self
                .objects
                .iter()
                .filter(|((_, ns, _), obj)| {
                    let already = !obj["metadata"]["deletionTimestamp"].is_null();
                    let orphaned =
                        obj["metadata"]["ownerReferences"]
                            .as_array()
                            .is_some_and(|owners| {
                                !owners.is_empty()
                                    && owners.iter().all(|o| {
                                        o["uid"].as_str().is_none_or(|uid| !uids.contains(uid))
                                    })
                            });
                    !already && (orphaned || terminating.contains(ns))
                })
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            // Namespaces whose content is gone are removed for good.
            let empty: Vec<String> = terminating
                .iter()
                .filter(|ns| !self.objects.keys().any(|(_, obj_ns, _)| obj_ns == *ns))
                .cloned()
                .collect();
            if doomed.is_empty() && empty.is_empty() {
                return total;
            }
            for (key, obj) in doomed {
                let Some(def) = self.registry.any_version(&key.0).cloned() else {
                    self.objects.remove(&key);
                    continue;
                };
                if self.delete_key(&def, key, obj).is_ok() {
                    total += 1;
                }
            }
            let ns_key = ResKey {
                group: String::new(),
                resource: "namespaces".into(),
            };
            for ns in empty {
                if let Some(obj) = self.objects.remove(&(ns_key.clone(), String::new(), ns)) {
                    self.next_rv();
                    let mut gone = (*obj).clone();
                    gone["metadata"]["resourceVersion"] = json!(self.rv.to_string());
                    self.emit(&ns_key, EventType::Deleted, Arc::new(gone), Some(obj));
                    total += 1;
                }
            }
        }
    }
}

/// A client's `uid` / `resourceVersion` precondition: 409 when it names another object state.
fn precondition(
    def: &ResourceDef,
    name: &str,
    current: &Value,
    field: &str,
    wanted: Option<&str>,
) -> Result<(), ApiError> {
    match wanted {
        Some(wanted) if current["metadata"][field] != wanted => {
            let which = if field == "uid" { "UID" } else { field };
            Err(ApiError::conflict(
                def.target(),
                name,
                &format!("Precondition failed: {which} in precondition does not match"),
            ))
        }
        _ => Ok(()),
    }
}

/// How a write by `manager` to `sub` of `def` is recorded.
fn record<'a>(
    def: &ResourceDef,
    sub: Subresource,
    manager: &'a str,
    api_version: &'a str,
    now: &'a str,
) -> managed_fields::Write<'a> {
    managed_fields::Write {
        manager,
        subresource: sub.name(),
        status_subresource: def.status_subresource,
        api_version,
        now,
    }
}

/// Stores `entries` as the object's managedFields (none: the field goes).
fn set_managed_fields(object: &mut Value, entries: Vec<Value>) {
    let Some(metadata) = object["metadata"].as_object_mut() else {
        return;
    };
    if entries.is_empty() {
        metadata.remove("managedFields");
    } else {
        metadata.insert("managedFields".to_owned(), Value::Array(entries));
    }
}

fn scoped_ns(def: &ResourceDef, ns: Option<&str>) -> String {
    if def.namespaced {
        ns.unwrap_or_default().to_owned()
    } else {
        String::new()
    }
}

#[cfg(test)]
mod tests;
