//! Pure types and logic for AOC: the event shape every source is normalized into, the query
//! and cursor types every front door speaks, and the per-source normalizers. No I/O, no async.

pub mod ask;
pub mod cursor;
pub mod event;
pub mod query;
pub mod rules;
pub mod visibility;

pub use cursor::{Cursor, CursorError};
pub use event::{Comment, Event, Source};
pub use query::{
    DEFAULT_PAGE_SIZE, EventQuery, EventSummary, EventView, FilterOptions, MAX_PAGE_SIZE, Page,
    SummaryPage,
};
pub use visibility::{Visibility, canonical_service};

pub mod normalize;
pub use normalize::{
    MapResolver, Mappings, MappingsError, NameResolver, NoResolver, NormalizeError, Normalizer,
    Outcome, PropertyChange, RecordKind, UNKNOWN_ACTOR, modified_properties, normalize_client_ip,
    outcome_filter,
};
