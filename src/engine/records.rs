//! Records: the only place that reads and writes stored values (connection records, per-instance tokens, org marks).

use super::*;

impl<H: Host> Engine<H> {
    pub(super) async fn read_record(
        &self,
        id: &str,
    ) -> Result<Option<StoredConnection>, SessionError> {
        let key = self.config.connection_key(id);
        let raw = self
            .host
            .store_get(&key)
            .await
            .map_err(|e| SessionError::store("get", &key, &e).about(id, None))?;
        let Some(raw) = raw else { return Ok(None) };
        let record = StoredConnection::from_json(&raw).ok_or_else(|| {
            SessionError::new(
                ErrorCode::StoreFailed,
                "The stored record of this connection is unreadable",
            )
            .evidence(format!(
                "store.get({key}) returned a value that is not a connection record"
            ))
            .about(id, None)
        })?;
        Ok(Some(record))
    }

    pub(super) async fn write_record(
        &self,
        id: &str,
        record: &StoredConnection,
    ) -> Result<(), SessionError> {
        let key = self.config.connection_key(id);
        let json = record.to_json();
        self.host
            .store_put(&key, &json)
            .await
            .map_err(|e| SessionError::store("put", &key, &e).about(id, Some(&record.org_id)))
    }

    pub(super) async fn read_local(&self, id: &str) -> Option<LocalToken> {
        let raw = self
            .host
            .store_get(&self.config.local_token_key(id))
            .await
            .ok()??;
        LocalToken::from_json(&raw)
    }

    pub(super) fn origin_of(
        &self,
        record: &StoredConnection,
        id: &str,
    ) -> Result<Origin, SessionError> {
        check_instance_url(
            &record.instance_url,
            self.config.allow_insecure_loopback,
            None,
        )
        .map_err(|why| {
            SessionError::new(
                ErrorCode::WrongInstanceUrl,
                "The stored instance_url is not a Salesforce API host",
            )
            .evidence(format!("instance_url refused: {why}"))
            .about(id, Some(&record.org_id))
        })
    }

    /// Makes sure the connection is in memory, reading the store once if not.
    pub(super) async fn load(&self, id: &str) -> Result<(), SessionError> {
        if self.conns.borrow().contains_key(id) {
            return Ok(());
        }
        check_connection_id(id)?;
        let record = self
            .read_record(id)
            .await?
            .ok_or_else(|| Self::unknown(id))?;
        self.take_record(id, record).await
    }

    /// Makes a record just read from the store this connection's state: adopted when
    /// the connection is in memory, otherwise set up with this instance's own token.
    pub(super) async fn take_record(
        &self,
        id: &str,
        record: StoredConnection,
    ) -> Result<(), SessionError> {
        if self.conns.borrow().contains_key(id) {
            return self.adopt_record(id, record);
        }
        let origin = self.origin_of(&record, id)?;
        let local = if record.ip_locked {
            self.read_local(id).await
        } else {
            None
        };
        // Another call may have loaded it while this one awaited the store.
        self.conns
            .borrow_mut()
            .entry(id.to_string())
            .or_insert_with(|| Conn::new(record, origin, local));
        Ok(())
    }

    /// Takes a record read from the store as the truth for this connection.
    pub(super) fn adopt_record(
        &self,
        id: &str,
        record: StoredConnection,
    ) -> Result<(), SessionError> {
        let origin = self.origin_of(&record, id)?;
        let me = self.config.instance_id.as_str();
        self.with_conn(id, |c| {
            // Another instance switched the connection to per-instance tokens: the
            // token this instance minted and holds stays its own.
            if record.ip_locked
                && !c.record.ip_locked
                && c.local.is_none()
                && c.record.minted_by == me
            {
                c.local = Some(LocalToken {
                    access_token: c.record.access_token.clone(),
                    issued_at: c.record.issued_at,
                    expires_at: c.record.expires_at,
                    instance_url: c.record.instance_url.clone(),
                });
            }
            c.record = record;
            c.origin = origin;
        });
        Ok(())
    }
}
