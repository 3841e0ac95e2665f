//! Connections: connect, info and disconnect.

use super::*;

impl<H: Host> Engine<H> {
    /// Validates and stores a token response under `id`.
    /// `login_url` names the login host the tokens came from when it is not the
    /// manager's (a sandbox, a My Domain): the connection renews there, and its identity
    /// URL is held to it.
    pub async fn connect(
        &self,
        id: &str,
        token_json: &str,
        login_url: Option<&str>,
    ) -> Result<ConnectionInfo, SessionError> {
        check_connection_id(id)?;
        let mut kept = Provenance::default();
        let origin = match login_url {
            Some(url) => self.login_origin(url).map_err(|e| e.about(id, None))?,
            None => self.config.login_origin.clone(),
        };
        if origin != self.config.login_origin {
            kept.token_host = Some(origin.to_string());
        }
        let token = parse_token_response(token_json, &self.token_checks_at(&origin))
            .map_err(|e| e.about(id, None))?;
        self.store_minted(id, token, kept).await
    }

    /// Stores a validated token as the connection's new record.
    pub(super) async fn store_minted(
        &self,
        id: &str,
        token: MintedToken,
        kept: Provenance,
    ) -> Result<ConnectionInfo, SessionError> {
        let expires_at = estimate_expiry(token.issued_at, self.config.session_timeout_s);
        let mut record = StoredConnection::from_token(token, expires_at, &self.config.instance_id);
        record.token_host = kept.token_host;
        record.grant = kept.grant;
        record.subject = kept.subject;
        record.audience = kept.audience;
        let origin = self.origin_of(&record, id)?;
        self.write_record(id, &record).await?;
        self.forget_local(id).await;
        let held = self
            .conns
            .borrow_mut()
            .insert(id.to_string(), Box::new(Conn::new(record, origin, None)))
            .is_some();
        if let Some(instance_url) = self.with_conn(id, |c| c.record.instance_url.clone()) {
            self.emit_for(
                id,
                EventDetail::Connected {
                    instance_url: &instance_url,
                },
            );
        }
        let (record, view, used_at) = self.info_parts(id)?;
        // A connection in use here keeps the new record in memory; any other lives in the
        // store alone until its first call loads it (an idle connection costs no memory).
        if !held {
            self.conns.borrow_mut().remove(id);
        }
        self.info_of(id, record, view, used_at).await
    }

    pub(super) async fn info_from_memory(&self, id: &str) -> Result<ConnectionInfo, SessionError> {
        let (record, view, used_at) = self.info_parts(id)?;
        self.info_of(id, record, view, used_at).await
    }

    /// What `info` reports of a connection in memory: its record, the token its calls send
    /// and when this instance last used it.
    fn info_parts(
        &self,
        id: &str,
    ) -> Result<(StoredConnection, Option<TokenView>, Option<u64>), SessionError> {
        self.with_conn(id, |c| (c.record.clone(), c.view(), c.used_at))
            .ok_or_else(|| Self::unknown(id))
    }

    /// What callers may know of a connection with `record`, the token `view` its calls send
    /// and when this instance last used it.
    async fn info_of(
        &self,
        id: &str,
        record: StoredConnection,
        view: Option<TokenView>,
        used_at: Option<u64>,
    ) -> Result<ConnectionInfo, SessionError> {
        let read_only = self.org_read_only(id, &record.org_id).await;
        let status = match (record.status, read_only) {
            (Status::ReauthRequired, _) => "reauth_required",
            (Status::Active, true) => "read_only",
            (Status::Active, false) => "active",
        };
        let (issued_at, expires_at, minted_by) = match view {
            Some(v) if v.minted_by.is_empty() => {
                (v.issued_at, v.expires_at, self.config.instance_id.clone())
            }
            Some(v) => (v.issued_at, v.expires_at, v.minted_by),
            None => (
                record.issued_at,
                record.expires_at,
                record.minted_by.clone(),
            ),
        };
        Ok(ConnectionInfo {
            connection_id: id.to_string(),
            org_id: record.org_id.clone(),
            user_id: record.user_id.clone(),
            instance_url: record.instance_url.clone(),
            issued_at,
            expires_at,
            status: status.to_string(),
            minted_by,
            has_refresh_token: record.refresh_token.is_some(),
            ip_locked: record.ip_locked,
            reauth_reason: record.reauth.as_ref().map(|r| r.reason.clone()),
            rotation: record.rotation,
            last_refresh_at: record.last_refresh_at,
            last_used_at: used_at,
        })
    }

    pub(super) async fn org_read_only(&self, id: &str, org_id: &str) -> bool {
        if self
            .orgs
            .borrow()
            .get(org_id)
            .is_some_and(|o| o.read_only.is_some())
        {
            return true;
        }
        self.read_only_marked(id, org_id).await
    }

    /// What callers may know of a connection, read fresh from the store.
    pub async fn info(&self, id: &str) -> Result<ConnectionInfo, SessionError> {
        check_connection_id(id)?;
        let record = self
            .read_record(id)
            .await?
            .ok_or_else(|| Self::unknown(id))?;
        self.take_record(id, record).await?;
        self.info_from_memory(id).await
    }

    /// Forces a refresh.
    pub async fn refresh(&self, id: &str) -> Result<ConnectionInfo, SessionError> {
        self.load(id).await?;
        self.renew(id, RefreshReason::Forced, None).await?;
        self.info_from_memory(id).await
    }

    /// Forgets a connection, revoking its tokens at Salesforce first when asked.
    pub async fn disconnect(&self, id: &str, revoke: bool) -> Result<(), SessionError> {
        check_connection_id(id)?;
        let Some(record) = self.read_record(id).await? else {
            self.conns.borrow_mut().remove(id);
            return Ok(());
        };
        let mut failed = None;
        if revoke {
            let token = record
                .refresh_token
                .clone()
                .unwrap_or_else(|| record.access_token.clone());
            // At the host the tokens came from: a sandbox's refresh token is unknown elsewhere.
            let request = revoke::request(&self.token_host_of(&record), &token);
            failed = match self.host.post_form(&request.url, &request.pairs()).await {
                Ok(r) if r.status == 200 || r.status == 400 => None,
                Ok(r) => Some(format!(
                    "revoke endpoint answered {}",
                    form_reply_detail(&r)
                )),
                Err(e) => Some(format!("revoke request failed: {}", clip(e.detail(), 160))),
            };
        }
        self.delete_record(id, &record.org_id).await?;
        self.forget_local(id).await;
        self.conns.borrow_mut().remove(id);
        self.emit(
            id,
            &record.org_id,
            &record.user_id,
            EventDetail::Disconnected {
                revoked: revoke && failed.is_none(),
            },
        );
        match failed {
            // Removed all the same: the caller asked to forget it.
            Some(why) => Err(SessionError::new(
                ErrorCode::RefreshFailed,
                "The connection was removed, but revoking its tokens at Salesforce failed",
            )
            .evidence(why)
            .evidence("the record was deleted from the store; the tokens may stay valid until they expire")
            .about(id, Some(&record.org_id))),
            None => Ok(()),
        }
    }

    pub(super) fn revoked_error(&self, id: &str, record: &StoredConnection) -> SessionError {
        let mut e = SessionError::new(
            ErrorCode::SessionRevoked,
            "This connection needs the user to authorize again",
        )
        .about(id, Some(&record.org_id));
        match &record.reauth {
            Some(r) => {
                e = e
                    .evidence(format!(
                        "the token endpoint answered invalid_grant: \"{}\"",
                        clip(&r.description, 200)
                    ))
                    .evidence(format!("sub-reason: {}", r.reason));
            }
            None => e = e.evidence("the connection is marked reauth_required in the store"),
        }
        e.evidence("no token request was sent: the connection is marked reauth_required")
    }
}
