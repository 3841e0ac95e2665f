//! Rejections: what a rejected session means for this connection, the spike detector and the API Access Control cooldown.

use super::*;

impl<H: Host> Engine<H> {
    pub(super) fn rejection_for(
        &self,
        id: &str,
        view: &TokenView,
        status: u16,
        message: &str,
        after_refresh: bool,
    ) -> Rejection {
        let now = self.host.now_ms();
        let (ever_succeeded, worked_here, can_refresh, org_id) = self
            .with_conn(id, |c| {
                (
                    c.ever_succeeded,
                    c.worked != 0 && c.worked == view.issued_at,
                    c.record.renewable(),
                    c.record.org_id.clone(),
                )
            })
            .unwrap_or_default();
        let org_read_only = self
            .orgs
            .borrow()
            .get(&org_id)
            .is_some_and(|o| o.read_only.is_some());
        Rejection {
            status,
            message: message.to_string(),
            minted_by: if view.minted_by.is_empty() {
                self.config.instance_id.clone()
            } else {
                view.minted_by.clone()
            },
            instance_id: self.config.instance_id.clone(),
            token_age_ms: now.saturating_sub(view.issued_at),
            presumed_live: now < view.expires_at,
            ever_succeeded,
            worked_here,
            can_refresh,
            after_refresh,
            org_read_only,
        }
    }

    pub(super) fn count_invalid_session(&self, id: &str) {
        let Some(org) = self.org_id_of(id) else {
            return;
        };
        let now = self.host.now_ms();
        let count = self.orgs.borrow_mut().entry(org).or_default().spike.record(
            now,
            self.config.spike_window_ms,
            self.config.spike_threshold,
        );
        if let Some(count) = count {
            self.emit_for(
                id,
                EventDetail::InvalidSessionSpike {
                    count,
                    window_seconds: self.config.spike_window_ms / 1000,
                    threshold: self.config.spike_threshold,
                    likely_causes: [
                        ErrorCode::ApiClientControl,
                        ErrorCode::SessionRevoked,
                        ErrorCode::OrgReadOnly,
                    ],
                },
            );
        }
    }

    pub(super) fn blocked(&self, id: &str) -> Option<SessionError> {
        let now = self.host.now_ms();
        self.with_conn(id, |c| match &c.blocked {
            Some((until, e)) if now < *until => Some(e.clone()),
            _ => None,
        })
        .flatten()
    }

    pub(super) fn final_rejection(&self, id: &str, rejection: &Rejection) -> SessionError {
        match after_rejection(rejection) {
            AfterRejection::Fail(e) => self.fail_rejection(id, e),
            AfterRejection::Refresh => self.fail_rejection(
                id,
                SessionError::new(
                    ErrorCode::SessionExpired,
                    "The session was rejected after a refresh",
                )
                .evidence(rejection.message.clone()),
            ),
        }
    }

    pub(super) fn fail_rejection(&self, id: &str, error: SessionError) -> SessionError {
        let org = self.org_id_of(id);
        let error = error.about(id, org.as_deref());
        if error.code == ErrorCode::ApiClientControl {
            let until = self.host.now_ms() + API_CONTROL_COOLDOWN_MS;
            let blocked = error.clone().evidence("refreshes for this connection are suspended for 10 minutes or until a call succeeds or connect() is called");
            self.with_conn(id, |c| c.blocked = Some((until, blocked)));
        }
        self.emit_diagnosis(id, &Diagnosis::from_error(&error, Confidence::High));
        error
    }

    pub(super) async fn on_success(
        &self,
        id: &str,
        org_id: &str,
        method: &str,
        replaced: Option<&Rejection>,
        refreshed: bool,
    ) {
        self.with_conn(id, Conn::succeeded);
        if is_write(method) {
            self.leave_read_only(id, org_id).await;
        }
        if let (true, Some(r)) = (refreshed, replaced) {
            if let Some(d) = ip_lock_after_recovery(r) {
                self.enter_ip_lock(id, &d).await;
            }
        }
    }
}
