//! The key schema: where each kind of stored value lives under the store prefix.
//! Kinds never overlap: each has its own word (`conn:`, `tok:`, `org:`), and the ids
//! inside a key are escaped, so no connection id can name another kind's key.

/// Store keys for one manager (its prefix and its instance id).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Keys {
    prefix: String,
    instance: String,
}

/// An id as it appears inside a key: `%` and `:` escaped, so `:` only ever separates.
fn escaped(id: &str) -> std::borrow::Cow<'_, str> {
    if !id.contains([':', '%']) {
        return id.into();
    }
    id.replace('%', "%25").replace(':', "%3A").into()
}

impl Keys {
    /// Keys under `prefix`, for the instance `instance_id`.
    pub fn new(prefix: &str, instance_id: &str) -> Self {
        Keys {
            prefix: prefix.to_string(),
            instance: escaped(instance_id).into_owned(),
        }
    }

    /// A connection's shared record.
    pub fn connection(&self, connection_id: &str) -> String {
        format!("{}conn:{}", self.prefix, escaped(connection_id))
    }

    /// Where connection records live: what `list` is asked for.
    pub fn connections(&self) -> String {
        format!("{}conn:", self.prefix)
    }

    /// The connection id a listed key holds the record of; `None` for any other key
    /// (earlier schemas kept other values under `conn:` too, always with a `:` inside).
    pub fn connection_id_of(&self, key: &str) -> Option<String> {
        let inner = key.strip_prefix(&self.connections())?;
        if inner.is_empty() || inner.contains(':') {
            return None;
        }
        let mut id = String::with_capacity(inner.len());
        let mut rest = inner;
        while let Some(at) = rest.find('%') {
            id.push_str(rest.get(..at)?);
            let code = rest.get(at..at + 3)?;
            id.push(match code {
                "%25" => '%',
                "%3A" => ':',
                _ => return None,
            });
            rest = rest.get(at + 3..)?;
        }
        id.push_str(rest);
        Some(id)
    }

    /// This instance's own access token of a connection (IP-locked orgs).
    pub fn local_token(&self, connection_id: &str) -> String {
        format!(
            "{}tok:{}:{}",
            self.prefix,
            escaped(connection_id),
            self.instance
        )
    }

    /// An org's read-only mark.
    pub fn read_only(&self, org_id: &str) -> String {
        format!("{}org:{}:read_only", self.prefix, escaped(org_id))
    }

    /// Where earlier versions kept a connection's record, when it differs from today's
    /// key (ids with `:` or `%`): read once so stored connections are not lost.
    pub fn legacy_connection(&self, connection_id: &str) -> Option<String> {
        let old = format!("{}conn:{connection_id}", self.prefix);
        (old != self.connection(connection_id)).then_some(old)
    }

    /// Where earlier versions kept this instance's own token.
    pub fn legacy_local_token(&self, connection_id: &str, instance_id: &str) -> String {
        format!("{}conn:{connection_id}:instance:{instance_id}", self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listed_keys_give_back_the_ids_they_hold() {
        let k = Keys::new("sfs:", "w1");
        for id in ["acme", "a:b", "%", "%3A", "%25:%3A:", "x%253Ay", "ünï"] {
            assert_eq!(
                k.connection_id_of(&k.connection(id)).as_deref(),
                Some(id),
                "{id}"
            );
        }
        for key in [
            "sfs:conn:",
            "sfs:tok:acme:w1",
            "conn:acme",
            "sfs:conn:acme:instance:w1",
            "sfs:conn:a%3",
            "sfs:conn:a%41",
        ] {
            assert_eq!(k.connection_id_of(key), None, "{key}");
        }
    }

    #[test]
    fn every_kind_of_value_has_its_own_key() {
        let k = Keys::new("sfs:", "w1");
        assert_eq!(k.connection("acme"), "sfs:conn:acme");
        assert_eq!(k.local_token("acme"), "sfs:tok:acme:w1");
        assert_eq!(k.read_only("00D1"), "sfs:org:00D1:read_only");
        assert_eq!(k.legacy_connection("acme"), None);
    }

    #[test]
    fn no_connection_id_names_another_connections_key() {
        let k = Keys::new("sfs:", "w:1");
        let tricky = [
            "X",
            "X:instance:w:1",
            "X%3A",
            "tok:X:w%3A1",
            "X:",
            ":X",
            "%",
        ];
        let mut all = Vec::new();
        for id in tricky {
            all.push(k.connection(id));
            all.push(k.local_token(id));
        }
        let mut unique = all.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), all.len(), "{all:?}");
        assert_eq!(
            k.legacy_connection("X:instance:w"),
            Some("sfs:conn:X:instance:w".to_string())
        );
    }
}
