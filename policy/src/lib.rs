//! Segmentation and path policy: VRFs, flow classification and the choice
//! between private, encrypted-internet and breakout paths (draft §3, §6.2).
//! Pure data structures evaluated by the dataplane without locks; no I/O.
#![forbid(unsafe_code)]
