//! The call path: checks before sending, the synchronous hot path (prepare/settle), and the full path with one refresh-and-retry.

use super::*;

impl<H: Host> Engine<H> {
    /// The checks every call passes before anything is sent: the connection is
    /// usable, the target is its instance, and a write may go to its org.
    pub(super) fn before_send(
        &self,
        id: &str,
        input: &str,
        method: &str,
    ) -> Result<Cleared, SessionError> {
        let (status, target, org_id, can_refresh) = self
            .with_conn(id, |c| {
                let target = resolve_target(input, &c.origin, &c.left, Some(&c.record.id_url));
                (
                    c.record.status,
                    target,
                    c.record.org_id.clone(),
                    c.record.renewable(),
                )
            })
            .ok_or_else(|| Self::unknown(id))?;
        if status == Status::ReauthRequired {
            let record = self
                .with_conn(id, |c| c.record.clone())
                .ok_or_else(|| Self::unknown(id))?;
            return Err(self.revoked_error(id, &record));
        }
        let target = target.map_err(|why| {
            SessionError::new(
                ErrorCode::WrongInstanceUrl,
                "Refused to send the access token outside the connection's instance",
            )
            .evidence(why)
            .evidence("nothing was sent")
            .about(id, Some(&org_id))
        })?;
        let gate = if is_write(method) {
            let now = self.host.now_ms();
            let gate = write_gate(
                self.orgs
                    .borrow()
                    .get(&org_id)
                    .and_then(|o| o.read_only.as_ref()),
                now,
            );
            if let WriteGate::Hold(at) = gate {
                let evidence = vec![
                    "the org answered INSERT_UPDATE_DELETE_NOT_ALLOWED_DURING_MAINTENANCE to an earlier write".to_string(),
                    format!("writes are held until the next probe in {} s; nothing was sent", at.saturating_sub(now).div_ceil(1000)),
                ];
                return Err(self.read_only_error(id, &org_id, evidence, None));
            }
            gate
        } else {
            WriteGate::Send
        };
        Ok(Cleared {
            target,
            org_id,
            can_refresh,
            gate,
        })
    }

    /// A connection marked `reauth_required` looks at the store again (at most every
    /// [`RECHECK_MS`]): a `connect()` in another worker lifts the mark for all.
    async fn recheck(&self, id: &str) -> Result<(), SessionError> {
        let now = self.host.now_ms();
        let due = self.with_conn(id, |c| {
            c.record.status == Status::ReauthRequired && now >= c.checked_at + RECHECK_MS
        });
        if due == Some(true) {
            match self.read_record(id).await? {
                Some(record) => self.adopt_record(id, record)?,
                None => {
                    self.conns.borrow_mut().remove(id);
                    return Err(Self::unknown(id));
                }
            }
        }
        Ok(())
    }

    /// The caller's own abort, handed back as its fetch would have rejected.
    fn aborted_call(&self, request: &H::Request) -> FetchError<H::SendError> {
        match self.host.abort_reason(request) {
            Some(reason) => FetchError::Transport(reason),
            None => FetchError::Session(SessionError::new(
                ErrorCode::RefreshFailed,
                "The call was aborted while its session was renewed",
            )),
        }
    }

    /// Where a call resolved earlier goes now; refused when it may no longer go anywhere.
    fn target_now(&self, id: &str, url: &str) -> Result<Target, SessionError> {
        let resolved = self
            .with_conn(id, |c| {
                resolve_target(url, &c.origin, &c.left, Some(&c.record.id_url))
            })
            .ok_or_else(|| Self::unknown(id))?;
        resolved.map_err(|why| {
            SessionError::new(
                ErrorCode::WrongInstanceUrl,
                "Refused to send the access token outside the connection's instance",
            )
            .evidence(why)
            .evidence("nothing was sent")
            .about(id, self.org_id_of(id).as_deref())
        })
    }

    /// Sends the caller's request with the connection's token, refreshing and
    /// retrying at most once when the session is rejected, and classifying every
    /// failure that cannot be recovered.
    pub async fn fetch(
        &self,
        id: &str,
        input: &str,
        method: &str,
        request: &H::Request,
    ) -> Result<H::Response, FetchError<H::SendError>> {
        self.load(id).await?;
        self.recheck(id).await?;
        self.with_conn(id, |c| c.used_at = Some(self.host.now_ms()));
        let cleared = self.before_send(id, input, method)?;
        let probe = cleared.gate == WriteGate::Probe;
        if probe {
            self.set_probing(&cleared.org_id, true);
        }
        let target = &cleared.target;
        let call = Outgoing {
            url: &target.url,
            path: &target.path,
            method,
            request,
        };
        let result = self
            .send_with_retry(id, call, cleared.can_refresh, None)
            .await;
        if probe {
            self.set_probing(&cleared.org_id, false);
        }
        result
    }

    /// The hot path, without I/O: what to send for a call whose connection is in
    /// memory, whose token is not due and whose org needs no probe. `Ok(None)` sends
    /// the call down the full path ([`Engine::fetch`]).
    pub fn prepare(
        &self,
        id: &str,
        input: &str,
        method: &str,
    ) -> Result<Option<Prepared>, SessionError> {
        let now = self.host.now_ms();
        // Not in memory, or marked reauth_required and due a look at the store: the full path.
        let recheck = self.with_conn(id, |c| {
            c.used_at = Some(now);
            c.record.status == Status::ReauthRequired && now >= c.checked_at + RECHECK_MS
        });
        if recheck != Some(false) {
            return Ok(None);
        }
        let cleared = self.before_send(id, input, method)?;
        if cleared.gate != WriteGate::Send {
            return Ok(None);
        }
        let Some(view) = self.current_view(id) else {
            return Ok(None);
        };
        let held = self
            .with_conn(id, |c| now < c.proactive_hold_until)
            .unwrap_or(false);
        let due = due_for_refresh(now, view.expires_at, self.config.refresh_margin_s);
        if due && cleared.can_refresh && !held && self.blocked(id).is_none() {
            return Ok(None);
        }
        Ok(Some(Prepared {
            url: cleared.target.url,
            path: cleared.target.path,
            bearer: view.access,
            started: now,
            fresh_until: refresh_due_at(view.expires_at, self.config.refresh_margin_s),
        }))
    }

    /// The hot path after the response arrived: records the request and says whether
    /// the response can go to the caller as it is (`true`), or must be examined by
    /// [`Engine::resume`] (a status that may carry a session failure).
    pub fn settle(&self, id: &str, method: &str, path: &str, status: u16, started: u64) -> bool {
        self.emit_request(id, method, path, status, started, 1);
        if needs_body(status) {
            return false;
        }
        if (200..400).contains(&status) {
            self.with_conn(id, Conn::succeeded);
        }
        true
    }

    /// Takes over a call prepared by [`Engine::prepare`] whose response needs
    /// examining: classifies it and, for a rejected session, refreshes and retries once.
    pub async fn resume(
        &self,
        id: &str,
        call: Outgoing<'_, H::Request>,
        response: H::Response,
        used: Secret,
    ) -> Result<H::Response, FetchError<H::SendError>> {
        self.load(id).await?;
        let view = match self.current_view(id) {
            Some(v) if v.access == used => v,
            // Someone replaced the token meanwhile; what it was no longer matters.
            _ => TokenView {
                access: used,
                issued_at: 0,
                expires_at: 0,
                minted_by: String::new(),
            },
        };
        let can_refresh = self
            .with_conn(id, |c| c.record.renewable())
            .unwrap_or(false);
        self.send_with_retry(id, call, can_refresh, Some((response, view)))
            .await
    }

    pub(super) async fn send_with_retry(
        &self,
        id: &str,
        call: Outgoing<'_, H::Request>,
        can_refresh: bool,
        first: Option<(H::Response, TokenView)>,
    ) -> Result<H::Response, FetchError<H::SendError>> {
        let Outgoing {
            url,
            path,
            method,
            request,
        } = call;
        // A call aborted before it started spends nothing: no refresh, no introspection.
        if let Some(reason) = self.host.abort_reason(request) {
            return Err(FetchError::Transport(reason));
        }
        let aborted = || self.host.abort_reason(request).is_some();
        let (mut first, mut view) = match first {
            Some((response, view)) => (Some(response), Some(view)),
            None => (None, self.current_view(id)),
        };
        let now = self.host.now_ms();
        let due = view
            .as_ref()
            .is_none_or(|v| due_for_refresh(now, v.expires_at, self.config.refresh_margin_s));
        let held = self
            .with_conn(id, |c| now < c.proactive_hold_until)
            .unwrap_or(false);
        if first.is_none()
            && due
            && can_refresh
            && !(held && view.is_some())
            && self.blocked(id).is_none()
        {
            let renewed = self
                .renew_waiting(id, RefreshReason::Proactive, None, &aborted)
                .await;
            let Some(renewed) = renewed else {
                return Err(self.aborted_call(request));
            };
            match renewed {
                Ok(_) => view = self.current_view(id),
                // Revocation and bad configuration are final; anything else leaves
                // the current token to try (the 401 path stays the safety net).
                Err(e)
                    if matches!(
                        e.code,
                        ErrorCode::SessionRevoked
                            | ErrorCode::InvalidConfig
                            | ErrorCode::UnknownConnection
                    ) =>
                {
                    return Err(e.into())
                }
                Err(e) if view.is_none() => return Err(e.into()),
                Err(_) => {
                    let until = self.host.now_ms() + PROACTIVE_RETRY_MS;
                    self.with_conn(id, |c| c.proactive_hold_until = until);
                }
            }
        }
        let mut view = view.ok_or_else(|| Self::unknown(id))?;
        let mut refreshed = false;
        let mut adopted = false;
        // The rejection that led to this call's refresh: the token it replaced.
        let mut replaced: Option<Rejection> = None;
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let response = match first.take() {
                // A prepared call's response: its request event is already out.
                Some(response) => response,
                None => {
                    // Resolved again for every attempt: a refresh may have moved the
                    // instance, and the call goes where the org is now.
                    let target = self.target_now(id, url)?;
                    let started = self.host.now_ms();
                    let response = self
                        .host
                        .send(&target.url, method, request, &view.access)
                        .await
                        .map_err(FetchError::Transport)?;
                    self.emit_request(
                        id,
                        method,
                        path,
                        self.host.status(&response),
                        started,
                        attempt,
                    );
                    response
                }
            };
            let status = self.host.status(&response);
            let verdict = if needs_body(status) {
                classify_response(status, &self.host.peek_body(&response).await)
            } else {
                ResponseVerdict::Pass
            };
            let org_id = self.org_id_of(id).unwrap_or_default();
            match verdict {
                ResponseVerdict::Pass => {
                    if (200..400).contains(&status) {
                        self.on_success(id, &org_id, method, replaced.as_ref(), refreshed)
                            .await;
                    }
                    return Ok(response);
                }
                ResponseVerdict::UrlNotReset(e) => {
                    return Err(SessionError::new(ErrorCode::WrongInstanceUrl, "The request reached a login host instead of the org's instance")
                        .status(status)
                        .evidence(format!("{} answered URL_NOT_RESET: \"{}\"", clip(url.split('?').next().unwrap_or(url), 120), clip(&e.message, 160)))
                        .evidence("the stored instance_url points at a login host; the token response's instance_url must be used")
                        .about(id, Some(&org_id))
                        .into());
                }
                ResponseVerdict::ReadOnly(e) => {
                    let state = self.enter_read_only(id, &org_id).await;
                    let evidence = vec![
                        format!("{method} {path} answered {status} INSERT_UPDATE_DELETE_NOT_ALLOWED_DURING_MAINTENANCE: \"{}\"", clip(&e.message, 160)),
                        format!("further writes to this org are held for {} s; reads continue", state.backoff_ms / 1000),
                    ];
                    return Err(self
                        .read_only_error(id, &org_id, evidence, Some(status))
                        .into());
                }
                ResponseVerdict::RateLimited(e) => {
                    let summary = "The org's API request limit is exhausted";
                    let e = org_refusal(ErrorCode::RateLimited, summary, method, path, status, &e);
                    return Err(e.about(id, Some(&org_id)).into());
                }
                ResponseVerdict::ApiDisabled(e) => {
                    let summary = "The REST API is not enabled for this org";
                    let e = org_refusal(ErrorCode::ApiDisabled, summary, method, path, status, &e);
                    return Err(e.about(id, Some(&org_id)).into());
                }
                ResponseVerdict::SessionRejected(e) => {
                    self.count_invalid_session(id);
                    let rejection = self.rejection_for(id, &view, status, &e.message, refreshed);
                    if refreshed {
                        return Err(self.final_rejection(id, &rejection).into());
                    }
                    if let Some(blocked) = self.blocked(id) {
                        return Err(blocked
                            .evidence(format!(
                                "{method} {path} was rejected again: \"{}\"",
                                clip(&e.message, 160)
                            ))
                            .into());
                    }
                    // Someone in this isolate replaced the token meanwhile: try theirs.
                    if let Some(current) = self
                        .current_view(id)
                        .filter(|c| c.access != view.access && !adopted)
                    {
                        adopted = true;
                        view = current;
                        continue;
                    }
                    match after_rejection(&rejection) {
                        AfterRejection::Fail(error) => {
                            return Err(self.fail_rejection(id, error).into())
                        }
                        AfterRejection::Refresh => {
                            replaced = Some(rejection);
                            let reason = if adopted {
                                RefreshReason::Forced
                            } else {
                                RefreshReason::Rejected
                            };
                            let renewed = self
                                .renew_waiting(id, reason, Some(&view.access), &aborted)
                                .await;
                            let Some(renewed) = renewed else {
                                return Err(self.aborted_call(request));
                            };
                            match renewed? {
                                Renewed::Adopted | Renewed::Extended if !adopted => adopted = true,
                                _ => refreshed = true,
                            }
                            view = self.current_view(id).ok_or_else(|| Self::unknown(id))?;
                        }
                    }
                }
            }
        }
    }
}

/// An org-level refusal of a call (limits, API disabled), quoting what Salesforce said.
fn org_refusal(
    code: ErrorCode,
    summary: &str,
    method: &str,
    path: &str,
    status: u16,
    e: &ApiError,
) -> SessionError {
    SessionError::new(code, summary)
        .status(status)
        .evidence(format!(
            "{method} {path} answered {status} {}: \"{}\"",
            e.code,
            clip(&e.message, 160)
        ))
}
