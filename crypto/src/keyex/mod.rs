//! Key agreement over BGP instead of IKE (draft-ietf-bess-bgp-sdwan-usage
//! §4.3): the sub-TLV values ([`params`]), X25519 + HKDF derivation of each
//! direction's SA ([`derive`]) and make-before-break rekeying ([`session`]).

pub mod derive;
pub mod params;
pub mod session;

pub use derive::{
    derive_pair, DeriveError, DirectionalSa, Endpoint, PairKeys, PeerParams, PortSecret,
};
pub use params::{NonceParam, ParamError, PublicKeyParam, SimplifiedSaParam};
pub use session::{Action, PairSession, RekeyTimers};
