//! Event fields serialized straight from the request's own strings.
//!
//! An event built as a `serde_json::Value` tree costs an allocation per key and value and a
//! hash per insert, then a walk to serialize it: about 40 µs for a small REST event, on every
//! request's path. These views borrow the request and write the same JSON directly.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use serde::ser::{Serialize, SerializeMap, Serializer};

/// Name/value pairs grouped by name: names in order of first appearance, each name's values
/// in order (the order a JSON object built by inserting the pairs one by one keeps).
pub(crate) struct Grouped<'a>(Vec<(&'a str, Vec<&'a str>)>);

impl<'a> Grouped<'a> {
    /// Groups `pairs`; the index keeps a flood of pairs linear.
    pub(crate) fn of(pairs: &'a [(String, String)]) -> Grouped<'a> {
        let mut index: HashMap<&str, usize> = HashMap::with_capacity(pairs.len());
        let mut groups: Vec<(&str, Vec<&str>)> = Vec::with_capacity(pairs.len());
        for (name, value) in pairs {
            match index.entry(name.as_str()) {
                Entry::Occupied(at) => groups[*at.get()].1.push(value),
                Entry::Vacant(slot) => {
                    slot.insert(groups.len());
                    groups.push((name, vec![value]));
                }
            }
        }
        Grouped(groups)
    }

    /// A copy with the names in byte order.
    pub(crate) fn sorted(&self) -> Grouped<'a> {
        let mut groups = self.0.clone();
        groups.sort_by(|a, b| a.0.cmp(b.0));
        Grouped(groups)
    }

    /// Whether there are no pairs.
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Each name with its last value.
    pub(crate) fn last(&self) -> Pick<'_, 'a> {
        Pick(self, Which::Last)
    }

    /// Each name with its first value.
    pub(crate) fn first(&self) -> Pick<'_, 'a> {
        Pick(self, Which::First)
    }

    /// Each name with the array of its values.
    pub(crate) fn all(&self) -> Pick<'_, 'a> {
        Pick(self, Which::All)
    }

    /// [`Grouped::last`], or `null` when there are no pairs.
    pub(crate) fn last_or_null(&self) -> Option<Pick<'_, 'a>> {
        (!self.is_empty()).then(|| self.last())
    }

    /// [`Grouped::first`], or `null` when there are no pairs.
    pub(crate) fn first_or_null(&self) -> Option<Pick<'_, 'a>> {
        (!self.is_empty()).then(|| self.first())
    }

    /// [`Grouped::all`], or `null` when there are no pairs.
    pub(crate) fn all_or_null(&self) -> Option<Pick<'_, 'a>> {
        (!self.is_empty()).then(|| self.all())
    }
}

#[derive(Clone, Copy)]
enum Which {
    Last,
    First,
    All,
}

/// A JSON object of [`Grouped`] pairs, one entry per name.
pub(crate) struct Pick<'g, 'a>(&'g Grouped<'a>, Which);

impl Serialize for Pick<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let groups = &(self.0).0;
        let mut map = serializer.serialize_map(Some(groups.len()))?;
        for (name, values) in groups {
            match self.1 {
                Which::Last => map.serialize_entry(name, values.last().unwrap_or(&""))?,
                Which::First => map.serialize_entry(name, values.first().unwrap_or(&""))?,
                Which::All => map.serialize_entry(name, values)?,
            }
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn names_keep_their_first_place_and_values_their_order() {
        let list = pairs(&[("b", "1"), ("a", "2"), ("b", "3")]);
        let grouped = Grouped::of(&list);
        let last = serde_json::to_string(&grouped.last()).unwrap();
        assert_eq!(last, r#"{"b":"3","a":"2"}"#);
        let first = serde_json::to_string(&grouped.first()).unwrap();
        assert_eq!(first, r#"{"b":"1","a":"2"}"#);
        let all = serde_json::to_value(grouped.all()).unwrap();
        assert_eq!(all, json!({"b": ["1", "3"], "a": ["2"]}));
        let sorted = serde_json::to_string(&Grouped::of(&list).sorted().all()).unwrap();
        assert_eq!(sorted, r#"{"a":["2"],"b":["1","3"]}"#);
    }

    #[test]
    fn no_pairs_is_null() {
        let grouped = Grouped::of(&[]);
        assert_eq!(
            serde_json::to_string(&grouped.last_or_null()).unwrap(),
            "null"
        );
        assert_eq!(
            serde_json::to_string(&grouped.all_or_null()).unwrap(),
            "null"
        );
    }

    #[test]
    fn a_flood_of_names_is_grouped_quickly() {
        let list: Vec<(String, String)> = (0..100_000)
            .map(|i| (format!("k{}", i % 50_000), i.to_string()))
            .collect();
        let started = std::time::Instant::now();
        let grouped = Grouped::of(&list);
        assert_eq!(grouped.0.len(), 50_000);
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
    }
}
