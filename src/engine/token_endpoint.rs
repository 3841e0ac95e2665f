//! The token endpoint: refresh requests with bounded retries, and storing what a refresh returned.

use super::*;

impl<H: Host> Engine<H> {
    pub(super) async fn refresh_with_token_endpoint(
        &self,
        id: &str,
        reason: RefreshReason,
        base: &str,
    ) -> Outcome {
        let started = self.host.now_ms();
        let record = self
            .with_conn(id, |c| c.record.clone())
            .ok_or_else(|| Self::unknown(id))?;
        let stored = RefreshDefaults {
            id_url: record.id_url.clone(),
            instance_url: record.instance_url.clone(),
            now: started,
        };
        let org_id = record.org_id.clone();
        let refresh_token = record.refresh_token.clone();
        // Renewed where its tokens came from; without a refresh token, minted again.
        let request = match &refresh_token {
            Some(token) => refresh_token::request(
                format!("{}/services/oauth2/token", self.token_host_of(&record)),
                token,
                &self.config.client_id,
                self.config.client_secret.as_ref(),
            ),
            None => self.mint_request(id, &record).await?,
        };
        let attempts = self.config.refresh_attempts.max(1);
        let mut failures: Vec<String> = Vec::new();
        let mut last = TokenFailure::Transient("no token request was made".into());
        let mut last_status: Option<u16> = None;
        for attempt in 1..=attempts {
            if attempt > 1 {
                self.host
                    .sleep_ms(self.config.refresh_backoff_ms << (attempt - 2).min(6))
                    .await;
                // A concurrent refresh elsewhere may have landed meanwhile.
                if let Ok(Some(stored)) = self.read_record(id).await {
                    if stored.status == Status::ReauthRequired {
                        let e = self.revoked_error(id, &stored);
                        self.adopt_record(id, stored)?;
                        return Err(e);
                    }
                    let changed = self
                        .with_conn(id, |c| c.record.access_token != stored.access_token)
                        .unwrap_or(false);
                    if changed && !stored.ip_locked {
                        self.adopt_record(id, stored)?;
                        return Ok(Renewed::Adopted);
                    }
                }
            }
            self.note_progress(id);
            let failure = match self.host.post_form(&request.url, &request.pairs()).await {
                Ok(reply) if reply.status == 200 => {
                    return self
                        .store_refreshed(id, reason, &reply.body, &stored, base, started, attempt)
                        .await;
                }
                Ok(reply) => {
                    last_status = Some(reply.status);
                    classify_token_failure(reply.status, &reply.body)
                }
                Err(e) => {
                    last_status = None;
                    TokenFailure::Transient(format!(
                        "token request failed: {}",
                        clip(e.detail(), 160)
                    ))
                }
            };
            let transient = failure.is_transient();
            failures.push(match &failure {
                TokenFailure::Transient(d) | TokenFailure::Unavailable(d) => d.clone(),
                TokenFailure::Busy(d) => format!("invalid_grant \"{}\" (transient)", clip(d, 120)),
                _ => String::new(),
            });
            last = failure;
            if !transient {
                break;
            }
        }
        let revocation = match &last {
            TokenFailure::Revoked {
                reason,
                description,
            } => Some((reason.label().to_string(), description.clone())),
            _ => None,
        };
        let mut error = last.into_error().about(id, Some(&org_id));
        error.status = last_status;
        if matches!(
            error.code,
            ErrorCode::RefreshFailed | ErrorCode::SalesforceUnavailable
        ) && attempts > 1
        {
            error = error.with_evidence(
                failures
                    .into_iter()
                    .filter(|f| !f.is_empty())
                    .enumerate()
                    .map(|(i, f)| format!("attempt {}: {f}", i + 1)),
            );
        }
        self.emit_for(
            id,
            EventDetail::RefreshFailed {
                reason: reason.as_str(),
                code: error.code,
                evidence: &error.evidence,
                duration_ms: Some(self.host.now_ms().saturating_sub(started)),
            },
        );
        if error.code == ErrorCode::RefreshFailed {
            self.cool_down(id, base).await;
        }
        if error.code == ErrorCode::SessionRevoked {
            error = error.with_evidence(self.idle_evidence(&record));
        }
        if let Some((label, description)) = revocation {
            if !self
                .mark_reauth_required(id, &record, &label, &description)
                .await
            {
                // The store holds another credential now: the call goes on with it.
                return Ok(Renewed::Adopted);
            }
        }
        Err(error)
    }

    /// What tells an idle-expired refresh token from a revoked one (Salesforce says the
    /// same of both), and whether rotation could have revoked the family.
    fn idle_evidence(&self, record: &StoredConnection) -> Vec<String> {
        let days = self.host.now_ms().saturating_sub(record.last_refresh_at) / 86_400_000;
        let mut evidence = vec![if days >= 30 {
            format!("the refresh token was last used {days} days ago: the 30-day idle expiry is likelier than a revocation (keepAlive() refreshes idle connections in time)")
        } else {
            format!("the refresh token was last used {days} days ago, too recently for the 30-day idle expiry: a revocation is likelier")
        }];
        if record.rotation {
            evidence.push("this connection's refresh tokens rotate: a rotated-out one presented anywhere revokes the whole family".into());
        }
        evidence
    }

    /// A 200 from the token endpoint that cannot be used: reported, nothing stored.
    fn refused_token_response(
        &self,
        id: &str,
        reason: RefreshReason,
        e: SessionError,
    ) -> SessionError {
        self.emit_for(
            id,
            EventDetail::RefreshFailed {
                reason: reason.as_str(),
                code: e.code,
                evidence: &e.evidence,
                duration_ms: None,
            },
        );
        e
    }

    #[allow(clippy::too_many_arguments)]
    async fn store_refreshed(
        &self,
        id: &str,
        reason: RefreshReason,
        body: &str,
        stored: &RefreshDefaults,
        base: &str,
        started: u64,
        attempt: u32,
    ) -> Outcome {
        let parsed = TokenResponseBody::read(body).map(|b| {
            b.completed(&RefreshDefaults {
                now: self.host.now_ms(),
                ..stored.clone()
            })
        });
        let token_host = self
            .with_conn(id, |c| c.record.token_host.clone())
            .flatten();
        let login = match &token_host {
            Some(host) => self.login_origin(host)?,
            None => self.config.login_origin.clone(),
        };
        let checked =
            parsed.and_then(|b| validate_token_response(&b, &self.token_checks_at(&login)));
        let token = match checked {
            Ok(t) => t,
            Err(e) => {
                let e = e.about(id, self.org_id_of(id).as_deref());
                return Err(self.refused_token_response(id, reason, e));
            }
        };
        let (record, local) = self
            .with_conn(id, |c| (c.record.clone(), c.local.clone()))
            .ok_or_else(|| Self::unknown(id))?;
        if token.org_id != record.org_id || token.user_id != record.user_id {
            let e = SessionError::new(
                ErrorCode::InvalidTokenResponse,
                "The refreshed token belongs to another org or user; it was not stored",
            )
            .evidence(format!(
                "expected org {} user {}, got org {} user {}",
                record.org_id, record.user_id, token.org_id, token.user_id
            ))
            .about(id, Some(&record.org_id));
            return Err(self.refused_token_response(id, reason, e));
        }
        let origin = self.origin_of(
            &StoredConnection {
                instance_url: token.instance_url.clone(),
                ..record.clone()
            },
            id,
        )?;
        let rotated = token
            .refresh_token
            .as_ref()
            .is_some_and(|r| Some(r) != record.refresh_token.as_ref());
        let expires_at = estimate_expiry(token.issued_at, self.config.session_timeout_s);
        let mut next = record.clone();
        next.refresh_token = token.refresh_token.clone().or(record.refresh_token.clone());
        next.instance_url = token.instance_url.clone();
        next.id_url = token.id_url.clone();
        if let Some(scope) = token.scope.clone() {
            next.scope = Some(scope);
        }
        next.rotation |= rotated;
        next.last_refresh_at = self.host.now_ms();
        next.cooldown_until = 0;
        next.gen = record.gen + 1;
        let mut next_local = local;
        if record.ip_locked {
            next_local = Some(LocalToken {
                access_token: token.access_token.clone(),
                issued_at: token.issued_at,
                expires_at,
                instance_url: token.instance_url.clone(),
            });
        } else {
            next.access_token = token.access_token.clone();
            next.issued_at = token.issued_at;
            next.expires_at = expires_at;
            next.expiry_source = ExpirySource::Estimate;
            next.minted_by = self.config.instance_id.clone();
        }
        let keep = |c: &mut Conn| {
            c.record = next.clone();
            c.move_to(origin.clone());
            c.local = next_local.clone();
            c.introspected = None;
        };
        if !record.ip_locked || rotated || next.instance_url != record.instance_url {
            // The store first, so no worker uses the new access token before the rotated
            // refresh token is shared; and only over the record this refresh started
            // from: a `connect()` or another worker's write meanwhile is newer and stays.
            match self
                .write_record_over(id, base, &next.to_json(), &next.org_id)
                .await
            {
                Ok(true) => {}
                Ok(false) => {
                    if let Some(now_stored) = self.read_record(id).await? {
                        self.adopt_record(id, now_stored)?;
                    }
                    return Ok(Renewed::Adopted);
                }
                Err(e) => {
                    // Memory keeps it: a rotated-out refresh token is never presented again.
                    self.with_conn(id, keep);
                    return Err(e);
                }
            }
        }
        self.with_conn(id, keep);
        if let Some(l) = next_local.as_ref().filter(|_| record.ip_locked) {
            self.write_local(id, &record.org_id, l).await?;
        }
        self.emit_for(
            id,
            EventDetail::Refresh {
                reason: reason.as_str(),
                duration_ms: self.host.now_ms().saturating_sub(started),
                rotated,
                attempt,
                instance_url: &next.instance_url,
                per_instance_token: record.ip_locked,
            },
        );
        Ok(Renewed::Refreshed)
    }
}
