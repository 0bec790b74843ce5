//! Key agreement over BGP instead of IKE (draft-ietf-bess-bgp-sdwan-usage
//! §4.3): the sub-TLV values ([`params`]), X25519 + HKDF derivation of each
//! direction's SA ([`derive`]), make-before-break rekeying of one pair
//! ([`session`]) and the edge-wide [`Manager`] of ports, pairs and SADB
//! ([`manager`]).

pub mod derive;
pub mod manager;
pub mod params;
pub mod session;

pub use derive::{
    derive_pair, DeriveError, DirectionalSa, Endpoint, PairKeys, PeerParams, PortSecret,
};
pub use manager::{Manager, ManagerAction, ManagerErrors, SaPolicy};
pub use params::{NonceParam, ParamError, PublicKeyParam, SimplifiedSaParam};
pub use session::{Action, PairSession, RekeyTimers};
