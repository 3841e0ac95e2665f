//! A JSON value read loosely, so that validation can say which member is wrong and
//! how, instead of failing the whole document with a deserializer's message.

use serde::de::value::{BorrowedStrDeserializer, SeqDeserializer};
use serde::de::{self, Deserialize, Deserializer, IntoDeserializer, MapAccess, SeqAccess, Visitor};
use std::fmt;

/// One member of an object read from outside: absent (or `null`), or what it held.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Loose {
    /// Absent or `null`.
    #[default]
    Absent,
    /// A string.
    Str(String),
    /// A number.
    Num(f64),
    /// A boolean.
    Bool(bool),
    /// An object, its members in order.
    Object(Vec<(String, Loose)>),
    /// An array.
    Array(Vec<Loose>),
}

impl Loose {
    /// The member `name` of an object (`Absent` for anything else).
    pub fn get(&self, name: &str) -> &Loose {
        match self {
            Loose::Object(members) => members
                .iter()
                .find(|(n, _)| n == name)
                .map_or(&Loose::Absent, |(_, v)| v),
            _ => &Loose::Absent,
        }
    }

    /// Whether it is an object.
    pub fn is_object(&self) -> bool {
        matches!(self, Loose::Object(_))
    }

    /// A member that must be a string when present: `Err` for any other kind.
    pub fn optional_str(&self, name: &str) -> Result<Option<&str>, WrongKind> {
        match self.get(name) {
            Loose::Absent => Ok(None),
            Loose::Str(s) => Ok(Some(s)),
            _ => Err(WrongKind),
        }
    }

    /// The string, if it is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Loose::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The number as a whole number, if it is a non-negative integer that fits.
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Loose::Num(n) if n.fract() == 0.0 && *n >= 0.0 && *n <= 9_007_199_254_740_991.0 => {
                Some(*n as u64)
            }
            _ => None,
        }
    }

    /// The number rounded to a whole number within `min..=max`.
    pub fn as_rounded_within(&self, min: u64, max: u64) -> Option<u64> {
        match self {
            Loose::Num(n) if n.is_finite() => {
                let r = n.round();
                (r >= min as f64 && r <= max as f64).then_some(r as u64)
            }
            _ => None,
        }
    }
}

/// A member held another kind of value than the one required.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WrongKind;

struct LooseVisitor;

impl<'de> Visitor<'de> for LooseVisitor {
    type Value = Loose;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_unit<E>(self) -> Result<Loose, E> {
        Ok(Loose::Absent)
    }
    fn visit_none<E>(self) -> Result<Loose, E> {
        Ok(Loose::Absent)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Loose, D::Error> {
        Loose::deserialize(d)
    }
    fn visit_bool<E>(self, b: bool) -> Result<Loose, E> {
        Ok(Loose::Bool(b))
    }
    fn visit_f64<E>(self, n: f64) -> Result<Loose, E> {
        Ok(Loose::Num(n))
    }
    fn visit_u64<E>(self, n: u64) -> Result<Loose, E> {
        Ok(Loose::Num(n as f64))
    }
    fn visit_i64<E>(self, n: i64) -> Result<Loose, E> {
        Ok(Loose::Num(n as f64))
    }
    fn visit_str<E>(self, s: &str) -> Result<Loose, E> {
        Ok(Loose::Str(s.to_string()))
    }
    fn visit_string<E>(self, s: String) -> Result<Loose, E> {
        Ok(Loose::Str(s))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Loose, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Loose>()? {
            items.push(item);
        }
        Ok(Loose::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Loose, A::Error> {
        let mut members = Vec::new();
        while let Some((name, value)) = map.next_entry::<String, Loose>()? {
            members.push((name, value));
        }
        Ok(Loose::Object(members))
    }
}

impl<'de> Deserialize<'de> for Loose {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Loose, D::Error> {
        d.deserialize_any(LooseVisitor)
    }
}

/// Why a [`Loose`] value is not the type asked for. It keeps no message: the
/// callers say in their own words what was wrong, and no number is ever formatted
/// (which keeps float formatting out of the module).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NotThatType;

impl fmt::Display for NotThatType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the value is not of the expected type")
    }
}

impl std::error::Error for NotThatType {}

impl de::Error for NotThatType {
    fn custom<T: fmt::Display>(_: T) -> Self {
        NotThatType
    }
}

/// A loose value as a serde deserializer: how typed records are read, on every host,
/// from the one value the platform's JSON (or serde_json) produced.
impl<'de> Deserializer<'de> for &'de Loose {
    type Error = NotThatType;

    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, NotThatType> {
        match self {
            Loose::Absent => v.visit_unit(),
            Loose::Str(s) => v.visit_borrowed_str(s),
            Loose::Num(n) if n.fract() == 0.0 && *n >= 0.0 && *n <= 9_007_199_254_740_991.0 => {
                v.visit_u64(*n as u64)
            }
            Loose::Num(n) if n.fract() == 0.0 && *n < 0.0 && *n >= -9_007_199_254_740_991.0 => {
                v.visit_i64(*n as i64)
            }
            Loose::Num(n) => v.visit_f64(*n),
            Loose::Bool(b) => v.visit_bool(*b),
            Loose::Array(items) => v.visit_seq(SeqDeserializer::new(items.iter())),
            Loose::Object(members) => v.visit_map(Members::new(members)),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, v: V) -> Result<V::Value, NotThatType> {
        match self {
            Loose::Absent => v.visit_none(),
            other => v.visit_some(other),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, NotThatType> {
        match self {
            Loose::Str(s) => v.visit_enum(s.as_str().into_deserializer()),
            _ => Err(NotThatType),
        }
    }

    // Each typed read takes only its own kind (a small instantiation per visitor,
    // instead of every kind's arm): what keeps typed records cheap in the module.
    fn deserialize_str<V: Visitor<'de>>(self, v: V) -> Result<V::Value, NotThatType> {
        match self {
            Loose::Str(s) => v.visit_borrowed_str(s),
            _ => Err(NotThatType),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, v: V) -> Result<V::Value, NotThatType> {
        self.deserialize_str(v)
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, v: V) -> Result<V::Value, NotThatType> {
        self.deserialize_str(v)
    }

    fn deserialize_u64<V: Visitor<'de>>(self, v: V) -> Result<V::Value, NotThatType> {
        match self.as_u64() {
            Some(n) => v.visit_u64(n),
            None => Err(NotThatType),
        }
    }

    fn deserialize_u32<V: Visitor<'de>>(self, v: V) -> Result<V::Value, NotThatType> {
        self.deserialize_u64(v)
    }

    fn deserialize_u16<V: Visitor<'de>>(self, v: V) -> Result<V::Value, NotThatType> {
        self.deserialize_u64(v)
    }

    fn deserialize_bool<V: Visitor<'de>>(self, v: V) -> Result<V::Value, NotThatType> {
        match self {
            Loose::Bool(b) => v.visit_bool(*b),
            _ => Err(NotThatType),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, NotThatType> {
        self.deserialize_map(v)
    }

    fn deserialize_map<V: Visitor<'de>>(self, v: V) -> Result<V::Value, NotThatType> {
        match self {
            Loose::Object(members) => v.visit_map(Members::new(members)),
            _ => Err(NotThatType),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, NotThatType> {
        v.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        i8 i16 i32 i64 i128 u8 u128 f32 f64 char bytes
        byte_buf unit unit_struct newtype_struct seq tuple tuple_struct
    }
}

/// An object's members as serde reads a map: a lean access (no length checks to
/// report, nothing to format), one member at a time.
struct Members<'de> {
    rest: std::slice::Iter<'de, (String, Loose)>,
    value: Option<&'de Loose>,
}

impl<'de> Members<'de> {
    fn new(members: &'de [(String, Loose)]) -> Self {
        Members {
            rest: members.iter(),
            value: None,
        }
    }
}

impl<'de> MapAccess<'de> for Members<'de> {
    type Error = NotThatType;

    fn next_key_seed<K: de::DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, NotThatType> {
        let Some((name, value)) = self.rest.next() else {
            return Ok(None);
        };
        self.value = Some(value);
        seed.deserialize(BorrowedStrDeserializer::new(name))
            .map(Some)
    }

    fn next_value_seed<V: de::DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, NotThatType> {
        seed.deserialize(self.value.take().unwrap_or(&Loose::Absent))
    }
}

impl<'de> IntoDeserializer<'de, NotThatType> for &'de Loose {
    type Deserializer = Self;

    fn into_deserializer(self) -> Self {
        self
    }
}

impl Loose {
    /// Reads the value as `T` (a record, a reply).
    pub fn read<'de, T: Deserialize<'de>>(&'de self) -> Option<T> {
        T::deserialize(self).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_are_read_with_their_kind() {
        let v: Loose =
            serde_json::from_str(r#"{"a":"x","n":1.5,"b":true,"z":null,"o":{"k":2},"l":[1,[2]]}"#)
                .unwrap();
        assert_eq!(v.get("a").as_str(), Some("x"));
        assert_eq!(v.get("n"), &Loose::Num(1.5));
        assert_eq!(v.get("n").as_u64(), None);
        assert_eq!(v.get("b"), &Loose::Bool(true));
        assert_eq!(v.get("z"), &Loose::Absent);
        assert_eq!(v.get("missing"), &Loose::Absent);
        assert_eq!(v.get("o").get("k").as_u64(), Some(2));
        assert_eq!(
            v.get("l"),
            &Loose::Array(vec![Loose::Num(1.0), Loose::Array(vec![Loose::Num(2.0)])])
        );
        assert_eq!(Loose::Num(2.6).as_rounded_within(0, 3), Some(3));
        assert_eq!(Loose::Num(f64::NAN).as_rounded_within(0, 3), None);
    }
}
