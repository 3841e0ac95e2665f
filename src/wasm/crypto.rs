//! `Crypto` over the platform's WebCrypto (`globalThis.crypto.subtle`): the same API
//! in Node, workerd and browsers, and no cryptography compiled into the module.

use super::js_host::{thrown, JsHost};
use crate::host::{Crypto, HostError};
use crate::secret::Secret;
use js_sys::{Array, Function, Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

fn get(target: &JsValue, name: &str) -> Result<JsValue, HostError> {
    Reflect::get(target, &JsValue::from_str(name)).map_err(thrown)
}

/// Calls `target[name](...args)` and awaits the promise it returns.
async fn call(target: &JsValue, name: &str, args: &Array) -> Result<JsValue, HostError> {
    let method: Function = get(target, name)?
        .dyn_into()
        .map_err(|_| HostError::new(format!("crypto.subtle.{name} is not a function")))?;
    let promise: Promise = Reflect::apply(&method, target, args)
        .map_err(thrown)?
        .dyn_into()
        .map_err(|_| HostError::new(format!("crypto.subtle.{name} returned no promise")))?;
    JsFuture::from(promise).await.map_err(thrown)
}

fn subtle() -> Result<JsValue, HostError> {
    let crypto = get(&js_sys::global(), "crypto")?;
    let subtle = get(&crypto, "subtle")?;
    if subtle.is_undefined() {
        return Err(HostError::new(
            "this runtime has no crypto.subtle (WebCrypto)",
        ));
    }
    Ok(subtle)
}

impl Crypto for JsHost {
    async fn hmac_sha256_hex(&self, key: &Secret, data: &str) -> Result<String, HostError> {
        let subtle = subtle()?;
        let algorithm = Object::new();
        Reflect::set(&algorithm, &"name".into(), &"HMAC".into()).map_err(thrown)?;
        Reflect::set(&algorithm, &"hash".into(), &"SHA-256".into()).map_err(thrown)?;
        let raw = Uint8Array::from(key.expose().as_bytes());
        let usages = Array::of1(&"sign".into());
        let imported = call(
            &subtle,
            "importKey",
            &Array::of5(&"raw".into(), &raw, &algorithm, &JsValue::FALSE, &usages),
        )
        .await?;
        let body = Uint8Array::from(data.as_bytes());
        let signed = call(
            &subtle,
            "sign",
            &Array::of3(&"HMAC".into(), &imported, &body),
        )
        .await?;
        let bytes = Uint8Array::new(&signed).to_vec();
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut hex = String::with_capacity(64);
        for b in bytes {
            hex.push(char::from(HEX[usize::from(b >> 4)]));
            hex.push(char::from(HEX[usize::from(b & 0xf)]));
        }
        Ok(hex)
    }

    async fn sign_jwt(&self, id: &str, claims: &str) -> Result<Secret, HostError> {
        let sign = self
            .sign_jwt
            .as_ref()
            .ok_or_else(|| HostError::new("this manager signs no JWT assertions"))?;
        let signed = super::js_host::settle(sign.call2(
            &JsValue::UNDEFINED,
            &JsValue::from_str(id),
            &JsValue::from_str(claims),
        ))
        .await
        .map_err(thrown)?;
        signed
            .as_string()
            .map(Secret::new)
            .ok_or_else(|| HostError::new("the JWT signer returned no text"))
    }
}
