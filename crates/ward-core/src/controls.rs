//! Parental controls as pure rules: what a linked parent may set (daily minutes, a bedtime in
//! the child's local time, blocked tags, topics and sources), and the usage rule that tells the
//! service when the limit or bedtime is reached, raising each alert at most once per local day.
//!
//! The feed guard reads the blocks and the bedtime from [`Controls`]. Ending a session is the
//! service's call; delivering alerts (server-sent events, webhooks) and remembering
//! [`UsageState`] between calls are the caller's. Not for who may set controls (linking
//! parents is [`crate::settings`]).

use std::fmt;

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

use crate::policy::DailyWindow;
use crate::vocab::Name;

/// Minutes in a day: the most a daily limit may allow.
pub const MINUTES_PER_DAY: u16 = 24 * 60;
/// The most names one block list may hold.
pub const MAX_BLOCKS: usize = 256;
/// The longest name a block list takes.
pub const MAX_BLOCK_LEN: usize = 128;

/// Which block list a name belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BlockKind {
    /// `blocked_tags`.
    Tags,
    /// `blocked_topics`.
    Topics,
    /// `blocked_sources`.
    Sources,
}

impl BlockKind {
    /// The field name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tags => "blocked_tags",
            Self::Topics => "blocked_topics",
            Self::Sources => "blocked_sources",
        }
    }
}

impl fmt::Display for BlockKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why controls are refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ControlsError {
    /// More minutes than a day has.
    #[error("`daily_minutes` must be between 0 and {max}, found {found}", max = MINUTES_PER_DAY)]
    DailyMinutesOutOfRange {
        /// The value given.
        found: u32,
    },
    /// A bedtime that is not a window.
    #[error(
        "`bedtime` must be a window like \"20:30-07:00\" (24-hour clock, the child's local time), found `{0}`"
    )]
    Bedtime(String),
    /// An empty name in a block list.
    #[error("`{0}` cannot hold an empty name")]
    EmptyBlock(BlockKind),
    /// A name too long for a block list.
    #[error("`{kind}` names are at most {max} characters, found `{name}`", max = MAX_BLOCK_LEN)]
    BlockTooLong {
        /// The list.
        kind: BlockKind,
        /// The name.
        name: String,
    },
    /// Too many names in a block list.
    #[error("`{kind}` holds at most {max} names, found {found}", max = MAX_BLOCKS)]
    TooManyBlocks {
        /// The list.
        kind: BlockKind,
        /// How many.
        found: usize,
    },
}

/// A checked list of blocked names: non-empty, at most [`MAX_BLOCKS`], no duplicates.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BlockList {
    names: Box<[Name]>,
}

impl BlockList {
    /// Checks and builds a list (names are trimmed; duplicates dropped). The limits apply to
    /// the names as sent, as the API's document states them: at most [`MAX_BLOCKS`] names,
    /// duplicates counted, each at most [`MAX_BLOCK_LEN`] characters and not blank.
    pub fn new<S: AsRef<str>>(kind: BlockKind, names: &[S]) -> Result<Self, ControlsError> {
        if names.len() > MAX_BLOCKS {
            return Err(ControlsError::TooManyBlocks {
                kind,
                found: names.len(),
            });
        }
        let mut list: Vec<Name> = Vec::with_capacity(names.len());
        for name in names {
            if name.as_ref().chars().count() > MAX_BLOCK_LEN {
                return Err(ControlsError::BlockTooLong {
                    kind,
                    name: name.as_ref().to_owned(),
                });
            }
            let text = crate::vocab::trim_blank(name.as_ref());
            if text.is_empty() {
                return Err(ControlsError::EmptyBlock(kind));
            }
            let name = Name::new(text);
            if !name.is_in(&list) {
                list.push(name);
            }
        }
        Ok(Self {
            names: list.into_boxed_slice(),
        })
    }

    /// The names.
    pub fn names(&self) -> &[Name] {
        &self.names
    }

    /// True when the list blocks nothing.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// True when `name` is blocked (in any spelling).
    #[inline]
    pub fn contains(&self, name: &Name) -> bool {
        name.is_in(&self.names)
    }

    /// The first of `names` that is blocked.
    pub fn first_match<'a>(&self, names: impl IntoIterator<Item = &'a Name>) -> Option<&'a Name> {
        names.into_iter().find(|name| self.contains(name))
    }
}

/// What a parent has set for a child. Built only by [`Controls::new`] (or deserializing, which
/// checks the same way); [`Controls::default`] sets nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Controls {
    daily_minutes: Option<u16>,
    bedtime: Option<DailyWindow>,
    blocked_tags: BlockList,
    blocked_topics: BlockList,
    blocked_sources: BlockList,
}

impl Controls {
    /// Checks and builds controls.
    pub fn new<S: AsRef<str>>(
        daily_minutes: Option<u32>,
        bedtime: Option<DailyWindow>,
        blocked_tags: &[S],
        blocked_topics: &[S],
        blocked_sources: &[S],
    ) -> Result<Self, ControlsError> {
        let daily_minutes = match daily_minutes {
            Some(minutes) => Some(
                u16::try_from(minutes)
                    .ok()
                    .filter(|m| *m <= MINUTES_PER_DAY)
                    .ok_or(ControlsError::DailyMinutesOutOfRange { found: minutes })?,
            ),
            None => None,
        };
        if let Some(window) = bedtime.filter(|w| !window_is_valid(*w)) {
            return Err(ControlsError::Bedtime(format!(
                "{}-{}",
                window.start_minute, window.end_minute
            )));
        }
        Ok(Self {
            daily_minutes,
            bedtime,
            blocked_tags: BlockList::new(BlockKind::Tags, blocked_tags)?,
            blocked_topics: BlockList::new(BlockKind::Topics, blocked_topics)?,
            blocked_sources: BlockList::new(BlockKind::Sources, blocked_sources)?,
        })
    }

    /// Daily screen-time minutes, when limited.
    pub fn daily_minutes(&self) -> Option<u16> {
        self.daily_minutes
    }

    /// The bedtime window in the child's local time, when set.
    pub fn bedtime(&self) -> Option<DailyWindow> {
        self.bedtime
    }

    /// Blocked tags.
    pub fn blocked_tags(&self) -> &BlockList {
        &self.blocked_tags
    }

    /// Blocked topics.
    pub fn blocked_topics(&self) -> &BlockList {
        &self.blocked_topics
    }

    /// Blocked sources.
    pub fn blocked_sources(&self) -> &BlockList {
        &self.blocked_sources
    }

    /// True when any list blocks something.
    pub fn has_blocks(&self) -> bool {
        !(self.blocked_tags.is_empty()
            && self.blocked_topics.is_empty()
            && self.blocked_sources.is_empty())
    }
}

/// `{"daily_minutes", "bedtime": "20:30-07:00", "blocked_tags", "blocked_topics",
/// "blocked_sources"}`, every field optional.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ControlsRepr {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    daily_minutes: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    bedtime: Option<String>,
    #[serde(default)]
    blocked_tags: Vec<String>,
    #[serde(default)]
    blocked_topics: Vec<String>,
    #[serde(default)]
    blocked_sources: Vec<String>,
}

impl Serialize for Controls {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let texts = |list: &BlockList| list.names.iter().map(|n| n.as_str().to_owned()).collect();
        ControlsRepr {
            daily_minutes: self.daily_minutes.map(u32::from),
            bedtime: self.bedtime.map(window_text),
            blocked_tags: texts(&self.blocked_tags),
            blocked_topics: texts(&self.blocked_topics),
            blocked_sources: texts(&self.blocked_sources),
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Controls {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let repr = ControlsRepr::deserialize(deserializer)?;
        let bedtime = match repr.bedtime.as_deref() {
            None | Some("") => None,
            Some(text) => Some(
                DailyWindow::parse(text)
                    .ok_or_else(|| ControlsError::Bedtime(text.to_owned()))
                    .map_err(serde::de::Error::custom)?,
            ),
        };
        Controls::new(
            repr.daily_minutes,
            bedtime,
            &repr.blocked_tags,
            &repr.blocked_topics,
            &repr.blocked_sources,
        )
        .map_err(serde::de::Error::custom)
    }
}

/// True for a window [`DailyWindow::parse`] could have made: both ends inside the day, and
/// different.
pub fn window_is_valid(window: DailyWindow) -> bool {
    window.start_minute < MINUTES_PER_DAY
        && window.end_minute < MINUTES_PER_DAY
        && window.start_minute != window.end_minute
}

/// A window as written: `HH:MM-HH:MM`.
pub fn window_text(window: DailyWindow) -> String {
    let hhmm = |minute: u16| format!("{:02}:{:02}", minute / 60, minute % 60);
    format!("{}-{}", hhmm(window.start_minute), hhmm(window.end_minute))
}

/// The local date and minute after midnight of `now` in `time_zone`.
pub fn local_time(time_zone: &TimeZone, now: Timestamp) -> (Date, u16) {
    let local = time_zone.to_datetime(now);
    let minute = i32::from(local.hour()) * 60 + i32::from(local.minute());
    (local.date(), u16::try_from(minute).unwrap_or(0))
}

/// The local date a window's current occurrence began on: for a window crossing midnight,
/// the small hours belong to the night that began the day before.
fn window_night(window: DailyWindow, date: Date, minute: u16) -> Date {
    let crosses_midnight = window.start_minute > window.end_minute;
    if crosses_midnight && minute < window.end_minute {
        date.yesterday().unwrap_or(date)
    } else {
        date
    }
}

/// An alert the usage rule asks the caller to raise to every linked parent (and the service).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UsageAlert {
    /// The daily screen-time limit is reached.
    LimitReached,
    /// Bedtime has begun.
    Bedtime,
}

/// What the usage rule remembers between calls: the local day on which each alert was last
/// raised (for bedtime, the day the night began).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsageState {
    /// The local day the limit alert was last raised.
    #[serde(default)]
    pub limit_alerted_on: Option<Date>,
    /// The local day the bedtime alert's night began, when last raised.
    #[serde(default)]
    pub bedtime_alerted_on: Option<Date>,
}

/// The usage rule's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Usage {
    /// Minutes left today under the daily limit; `None` without a limit.
    pub minutes_left: Option<u16>,
    /// The daily limit is reached.
    pub limit_reached: bool,
    /// It is bedtime now, in the child's local time.
    pub bedtime: bool,
    /// Alerts to raise now: each at most once per local day.
    pub alerts_to_raise: Vec<UsageAlert>,
}

/// The usage rule: given the controls, the child's time zone, the minutes used today (the
/// service's count for the child's local day), `now` and what was remembered, says whether the
/// limit or bedtime is reached, and which alerts to raise. Limit-reached raises at most one
/// alert per local day; bedtime at most one per night (a bedtime crossing midnight is one
/// night, dated by the evening it began). Pure: the new state comes back for the caller to keep.
pub fn usage(
    controls: &Controls,
    time_zone: &TimeZone,
    minutes_used_today: u32,
    now: Timestamp,
    state: UsageState,
) -> (Usage, UsageState) {
    let (today, minute) = local_time(time_zone, now);
    let mut state = state;
    let mut alerts_to_raise = Vec::new();

    let minutes_left = controls.daily_minutes.map(|limit| {
        u16::try_from(u32::from(limit).saturating_sub(minutes_used_today)).unwrap_or(0)
    });
    let limit_reached = minutes_left == Some(0);
    if limit_reached && state.limit_alerted_on != Some(today) {
        state.limit_alerted_on = Some(today);
        alerts_to_raise.push(UsageAlert::LimitReached);
    }

    let bedtime_window = controls.bedtime.filter(|window| window.contains(minute));
    if let Some(window) = bedtime_window {
        let night = window_night(window, today, minute);
        if state.bedtime_alerted_on != Some(night) {
            state.bedtime_alerted_on = Some(night);
            alerts_to_raise.push(UsageAlert::Bedtime);
        }
    }

    (
        Usage {
            minutes_left,
            limit_reached,
            bedtime: bedtime_window.is_some(),
            alerts_to_raise,
        },
        state,
    )
}
