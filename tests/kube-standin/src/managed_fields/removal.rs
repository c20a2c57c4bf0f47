//! The removal step of server-side apply: what the applier owned before and no longer
//! applies leaves the object, unless another entry (of any manager and operation) owns it or
//! something beneath it.

use serde_json::{Map, Value};

type Object = Map<String, Value>;

/// One step of a FieldsV1 path.
enum Step {
    /// `f:<name>`: a map field.
    Field(String),
    /// `k:{...}`: the item of a keyed list whose fields equal these.
    Key(Object),
    /// `v:<json>`: the item of a set list equal to this.
    Value(Value),
}

impl Step {
    /// `None` for `.` and for members this stand-in does not write (`i:` indexes) or that do
    /// not parse; those are left alone rather than guessed at.
    fn parse(member: &str) -> Option<Self> {
        if let Some(name) = member.strip_prefix("f:") {
            Some(Self::Field(name.to_owned()))
        } else if let Some(key) = member.strip_prefix("k:") {
            serde_json::from_str(key).ok().map(Self::Key)
        } else if let Some(value) = member.strip_prefix("v:") {
            serde_json::from_str(value).ok().map(Self::Value)
        } else {
            None
        }
    }

    fn selects(&self, item: &Value) -> bool {
        match self {
            Self::Field(_) => false,
            Self::Key(key) => key.iter().all(|(k, v)| item.get(k) == Some(v)),
            Self::Value(value) => item == value,
        }
    }

    fn child<'a>(&self, node: &'a mut Value) -> Option<&'a mut Value> {
        match (self, node) {
            (Self::Field(name), Value::Object(object)) => object.get_mut(name),
            (_, Value::Array(items)) => items.iter_mut().find(|item| self.selects(item)),
            _ => None,
        }
    }

    fn remove(&self, node: &mut Value) {
        match (self, node) {
            (Self::Field(name), Value::Object(object)) => {
                object.remove(name);
            }
            (_, Value::Array(items)) => items.retain(|item| !self.selects(item)),
            _ => {}
        }
    }
}

/// Removes from `node` what `previous` owned and no set in `keep` (the new apply, other
/// managers) owns at or beneath the same place. Containers left empty by the removal go too,
/// unless someone still owns something in them.
pub(crate) fn remove_dropped(node: &mut Value, previous: &Object, keep: &[&Object]) {
    for (member, owned) in previous {
        let (Some(step), Some(owned)) = (Step::parse(member), owned.as_object()) else {
            continue;
        };
        let kept: Vec<&Object> = keep
            .iter()
            .filter_map(|set| set.get(member))
            .filter_map(Value::as_object)
            .collect();
        let owned_itself = owned.is_empty() || owned.contains_key(".");
        if owned_itself && kept.is_empty() {
            step.remove(node);
            continue;
        }
        let emptied = match step.child(node) {
            Some(child) => {
                remove_dropped(child, owned, &kept);
                match child {
                    Value::Object(object) => object.is_empty(),
                    Value::Array(items) => items.is_empty(),
                    _ => false,
                }
            }
            None => false,
        };
        if emptied && kept.is_empty() {
            step.remove(node);
        }
    }
}
