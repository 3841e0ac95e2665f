//! Re-authorization: marking a revoked connection in the store, the event and the signed webhook.

use super::*;
use serde::Serialize;

/// The webhook's JSON body; its exact bytes are what the signature covers.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WebhookBody<'a> {
    r#type: &'static str,
    connection_id: &'a str,
    org_id: &'a str,
    user_id: &'a str,
    reason: &'a str,
    description: &'a str,
    at: u64,
}

impl<H: Host> Engine<H> {
    /// Marks the connection as needing a person — only if the store still holds the
    /// refresh token that was refused: a fresh `connect()` meanwhile is left alone.
    pub(super) async fn mark_reauth_required(
        &self,
        id: &str,
        refused: &StoredConnection,
        reason: &str,
        description: &str,
    ) -> bool {
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
                None => return false,
            },
        };
        if base.refresh_token != refused.refresh_token
            || (base.refresh_token.is_none() && base.access_token != refused.access_token)
        {
            // The record moved on (re-connected, or another worker stored a new refresh
            // token): the refusal was of a token nobody holds any more.
            let _ = self.adopt_record(id, base);
            return false;
        }
        let mut record = base;
        record.status = Status::ReauthRequired;
        record.reauth = Some(reauth);
        let stored = self.write_record(id, &record).await.is_ok();
        let (org, user) = (record.org_id.clone(), record.user_id.clone());
        self.with_conn(id, |c| c.record = record);
        self.emit(
            id,
            &org,
            &user,
            EventDetail::ReauthRequired {
                reason,
                description,
                stored,
            },
        );
        if let Some(hook) = self.config.webhook.clone() {
            // Salesforce's words go out verbatim, but never a secret they may echo.
            let secrets = self.secrets_of(Some(id));
            let description = redact(description, &exposed(&secrets));
            let body = encode(&WebhookBody {
                r#type: "reauth_required",
                connection_id: id,
                org_id: &org,
                user_id: &user,
                reason,
                description: &description,
                at: now,
            });
            let signature = match self.host.hmac_sha256_hex(&hook.secret, &body).await {
                Ok(hex) => format!("sha256={hex}"),
                Err(e) => {
                    self.emit(
                        id,
                        &org,
                        &user,
                        EventDetail::WebhookFailed {
                            detail: &format!(
                                "the body could not be signed: {}",
                                clip(e.detail(), 120)
                            ),
                        },
                    );
                    return true;
                }
            };
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
                    Err(e) => clip(e.detail(), 160),
                };
                self.emit(
                    id,
                    &org,
                    &user,
                    EventDetail::WebhookFailed { detail: &detail },
                );
            }
        }
        true
    }
}
