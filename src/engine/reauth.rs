//! Re-authorization: marking a revoked connection in the store, the event and the signed webhook.

use super::*;

impl<H: Host> Engine<H> {
    pub(super) async fn mark_reauth_required(&self, id: &str, reason: &str, description: &str) {
        let now = self.host.now_ms();
        let reauth = ReauthInfo {
            reason: reason.to_string(),
            description: description.to_string(),
            at: now,
        };
        // Re-read so a newer credential written meanwhile is kept as it is.
        let base = match self.read_record(id).await {
            Ok(Some(r)) => r,
            _ => match self.with_conn(id, |c| c.record.clone()) {
                Some(r) => r,
                None => return,
            },
        };
        let mut record = base;
        record.status = Status::ReauthRequired;
        record.reauth = Some(reauth);
        let stored = self.write_record(id, &record).await.is_ok();
        let (org, user) = (record.org_id.clone(), record.user_id.clone());
        self.with_conn(id, |c| c.record = record);
        self.emit(
            "reauth_required",
            id,
            &org,
            &user,
            vec![
                ("reason", Json::str(reason)),
                ("description", Json::str(description)),
                ("stored", Json::Bool(stored)),
            ],
        );
        if let Some(hook) = self.config.webhook.clone() {
            let body = Json::object([
                ("at", Json::Uint(now)),
                ("connectionId", Json::str(id)),
                ("description", Json::str(description)),
                ("orgId", Json::str(&org)),
                ("reason", Json::str(reason)),
                ("type", Json::str("reauth_required")),
                ("userId", Json::str(&user)),
            ])
            .write();
            let signature = format!(
                "sha256={}",
                crate::webhook::sign(&hook.secret, body.as_bytes())
            );
            let result = self
                .host
                .post_json(
                    &hook.url,
                    &body,
                    &[("x-salesforce-session-signature", signature.as_str())],
                )
                .await;
            let ok = matches!(&result, Ok(r) if (200..300).contains(&r.status));
            if !ok {
                let detail = match result {
                    Ok(r) => format!("HTTP {}", r.status),
                    Err(e) => clip(&e, 160),
                };
                self.emit(
                    "webhook_failed",
                    id,
                    &org,
                    &user,
                    vec![("detail", Json::str(&detail))],
                );
            }
        }
    }
}
