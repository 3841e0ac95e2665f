//! The key schema: where each kind of stored value lives under the store prefix.

/// Store keys for one manager (its prefix and its instance id).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Keys {
    prefix: String,
    instance_id: String,
}

impl Keys {
    /// Keys under `prefix`, for the instance `instance_id`.
    pub fn new(prefix: &str, instance_id: &str) -> Self {
        Keys {
            prefix: prefix.to_string(),
            instance_id: instance_id.to_string(),
        }
    }

    /// A connection's shared record.
    pub fn connection(&self, connection_id: &str) -> String {
        format!("{}conn:{connection_id}", self.prefix)
    }

    /// This instance's own access token of a connection (IP-locked orgs).
    pub fn local_token(&self, connection_id: &str) -> String {
        format!(
            "{}conn:{connection_id}:instance:{}",
            self.prefix, self.instance_id
        )
    }

    /// An org's read-only mark.
    pub fn read_only(&self, org_id: &str) -> String {
        format!("{}org:{org_id}:read_only", self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_of_value_has_its_own_key() {
        let k = Keys::new("sfs:", "w1");
        assert_eq!(k.connection("acme"), "sfs:conn:acme");
        assert_eq!(k.local_token("acme"), "sfs:conn:acme:instance:w1");
        assert_eq!(k.read_only("00D1"), "sfs:org:00D1:read_only");
    }
}
