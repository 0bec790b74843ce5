//! The BGP wire codec: I/O-free, strict, no panics on any input. Each
//! submodule pairs a typed representation with its decoder and encoder;
//! decoders report named errors with offsets and the RFC 7606 action.

pub mod as4;
pub mod attr;
pub mod attr_decode;
pub mod community;
pub mod cursor;
pub mod error;
pub mod family;
pub mod message;
pub mod nlri;
pub mod open;
pub mod sdwan_subtlv;
pub mod tunnel;

pub use attr::{AsPath, EncodeCtx, MpReach, MpUnreach, NextHop, Origin, PathAttributes};
pub use attr_decode::DecodeCtx;
pub use community::{ExtCommunity, LargeCommunity};
pub use error::{Action, DecodeError, Reason};
pub use family::{Family, Rd};
pub use message::{
    decode_message, frame_len, Decoded, Message, Notification, RouteRefresh, Update,
};
pub use nlri::{Nlri, PathNlri, Prefix, RtcNlri, SdwanNlri};
pub use open::{Capability, Open};
pub use tunnel::{SubTlv, Tunnel, TunnelEncap};
