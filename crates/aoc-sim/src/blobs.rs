//! How Management Activity API records are packed into content blobs.
//!
//! Records of one content type are grouped by the time bucket their `CreationTime` falls in. The
//! bucket's regular blob is published ("contentCreated") one to two hours after the bucket ends.
//! About 3% of records are also repeated in the next bucket's blob (the service's at-least-once
//! delivery), and about 1.5% miss their bucket and arrive in a late blob published two to four
//! days afterwards. Everything is derived from the seed, so blob ids, contents and publication
//! times are as stable as the records themselves.

use crate::generate::Generator;
use crate::generate::SimSource;
use crate::generate::unified::{ContentType, Delivery, meta};
use crate::rng::hash3;
use crate::time::{TICKS_PER_DAY, TICKS_PER_HOUR, TICKS_PER_MINUTE, Ticks, compact_time};
use crate::timeline::Slot;

/// Content older than this cannot be listed or downloaded.
pub(crate) const RETENTION: Ticks = 7 * TICKS_PER_DAY;
const MIN_DELAY: Ticks = TICKS_PER_HOUR;
const MAX_DELAY: Ticks = 2 * TICKS_PER_HOUR;
const MIN_LATE_DAYS: i64 = 2;
const LATE_DAY_CHOICES: u64 = 3;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum BlobKind {
    Regular,
    Late,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct BlobRef {
    pub content_type: ContentType,
    pub kind: BlobKind,
    pub bucket: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct BlobInfo {
    pub blob: BlobRef,
    pub created: Ticks,
}

impl BlobInfo {
    pub(crate) fn expiration(&self) -> Ticks {
        self.created + RETENTION
    }

    /// Listing order: by publication time, ties broken stably.
    pub(crate) fn sort_key(&self) -> (Ticks, u8, BlobKind, i64) {
        (
            self.created,
            self.blob.content_type.code(),
            self.blob.kind,
            self.blob.bucket,
        )
    }
}

pub(crate) struct Feed<'a> {
    generator: &'a Generator,
    bucket: Ticks,
}

impl<'a> Feed<'a> {
    pub(crate) fn new(generator: &'a Generator, bucket_minutes: u32) -> Feed<'a> {
        Feed {
            generator,
            bucket: i64::from(bucket_minutes.max(1)) * TICKS_PER_MINUTE,
        }
    }

    fn bucket_of(&self, t: Ticks) -> i64 {
        t.div_euclid(self.bucket)
    }

    fn bucket_end(&self, b: i64) -> Ticks {
        (b + 1).saturating_mul(self.bucket)
    }

    fn late_days(&self, ct: ContentType, b: i64) -> i64 {
        let h = hash3(
            self.generator.seed(),
            0x1a7e ^ u64::from(ct.code()),
            b as u64,
        );
        MIN_LATE_DAYS + (h % LATE_DAY_CHOICES) as i64
    }

    /// Publication time of a blob, whole milliseconds (the API prints milliseconds).
    pub(crate) fn created(&self, blob: BlobRef) -> Ticks {
        let salt = match blob.kind {
            BlobKind::Regular => 0xb10b,
            BlobKind::Late => 0x1a7e_b10b,
        };
        let h = hash3(
            self.generator.seed(),
            salt ^ u64::from(blob.content_type.code()),
            blob.bucket as u64,
        );
        let delay = MIN_DELAY + (h % (MAX_DELAY - MIN_DELAY) as u64) as Ticks;
        let late = match blob.kind {
            BlobKind::Regular => 0,
            BlobKind::Late => self.late_days(blob.content_type, blob.bucket) * TICKS_PER_DAY,
        };
        let t = self.bucket_end(blob.bucket) + late + delay;
        t - t.rem_euclid(10_000)
    }

    fn bucket_slots(&self, b: i64) -> impl Iterator<Item = Slot> + '_ {
        let start = b.saturating_mul(self.bucket);
        self.generator
            .timeline(SimSource::Unified)
            .asc(start, self.bucket_end(b) - 1)
    }

    /// The records in a blob (as slots), restricted to records at or after `origin`.
    pub(crate) fn contents(&self, blob: BlobRef, origin: Ticks) -> Vec<Slot> {
        let ct = blob.content_type;
        let mut out = Vec::new();
        match blob.kind {
            BlobKind::Regular => {
                out.extend(self.bucket_slots(blob.bucket).filter(|s| {
                    let m = meta(s);
                    m.content_type == ct && m.delivery != Delivery::Late
                }));
                out.extend(self.bucket_slots(blob.bucket - 1).filter(|s| {
                    let m = meta(s);
                    m.content_type == ct && m.delivery == Delivery::Duplicate
                }));
            }
            BlobKind::Late => out.extend(self.bucket_slots(blob.bucket).filter(|s| {
                let m = meta(s);
                m.content_type == ct && m.delivery == Delivery::Late
            })),
        }
        out.retain(|s| s.time >= origin);
        out
    }

    fn non_empty(&self, blob: BlobRef, origin: Ticks) -> bool {
        !self.contents(blob, origin).is_empty()
    }

    /// Blobs of `ct` with `start <= contentCreated < end` and `contentCreated <= now`, in
    /// publication order. Empty blobs are never published.
    pub(crate) fn list(
        &self,
        ct: ContentType,
        start: Ticks,
        end: Ticks,
        now: Ticks,
        origin: Ticks,
    ) -> Vec<BlobInfo> {
        let end = end.min(now.saturating_add(1));
        if end <= start {
            return Vec::new();
        }
        let mut out = Vec::new();
        let mut consider = |blob: BlobRef| {
            let created = self.created(blob);
            if created >= start && created < end && self.non_empty(blob, origin) {
                out.push(BlobInfo { blob, created });
            }
        };
        // A blob of bucket b is published between bucket_end(b) + offset + MIN_DELAY and
        // bucket_end(b) + offset + MAX_DELAY; scan the buckets that can land in the window.
        let candidates = |offset: Ticks| {
            let lo = self.bucket_of(start - offset - MAX_DELAY) - 1;
            let hi = self.bucket_of(end - offset - MIN_DELAY) + 1;
            lo..=hi
        };
        for bucket in candidates(0) {
            consider(BlobRef {
                content_type: ct,
                kind: BlobKind::Regular,
                bucket,
            });
        }
        for days in MIN_LATE_DAYS..MIN_LATE_DAYS + LATE_DAY_CHOICES as i64 {
            for bucket in candidates(days * TICKS_PER_DAY) {
                if self.late_days(ct, bucket) == days {
                    consider(BlobRef {
                        content_type: ct,
                        kind: BlobKind::Late,
                        bucket,
                    });
                }
            }
        }
        out.sort_by_key(BlobInfo::sort_key);
        out
    }

    /// Publication times of every blob that carries this record.
    pub(crate) fn carriers(&self, slot: &Slot) -> Vec<Ticks> {
        let m = meta(slot);
        let b = self.bucket_of(slot.time);
        let blob = |kind, bucket| BlobRef {
            content_type: m.content_type,
            kind,
            bucket,
        };
        match m.delivery {
            Delivery::Normal => vec![self.created(blob(BlobKind::Regular, b))],
            Delivery::Duplicate => vec![
                self.created(blob(BlobKind::Regular, b)),
                self.created(blob(BlobKind::Regular, b + 1)),
            ],
            Delivery::Late => vec![self.created(blob(BlobKind::Late, b))],
        }
    }

    /// `{created}${created}${content type}${Content_Type}${r|l}{bucket}`: opaque to clients, but
    /// it carries what the simulator needs to rebuild the blob.
    pub(crate) fn content_id(&self, info: &BlobInfo) -> String {
        let c = compact_time(info.created);
        let ct = info.blob.content_type.as_str().replace('.', "_");
        let kind = match info.blob.kind {
            BlobKind::Regular => 'r',
            BlobKind::Late => 'l',
        };
        format!(
            "{c}${c}${}${ct}${kind}{}",
            ct.to_ascii_lowercase(),
            info.blob.bucket
        )
    }

    /// Inverse of [`Feed::content_id`]; `None` for anything the simulator did not issue.
    pub(crate) fn parse_content_id(&self, id: &str) -> Option<BlobInfo> {
        let parts: Vec<&str> = id.split('$').collect();
        let [c1, c2, _, ct, tail] = parts.as_slice() else {
            return None;
        };
        let content_type = ContentType::parse(&ct.replace('_', "."))?;
        let kind = match tail.chars().next()? {
            'r' => BlobKind::Regular,
            'l' => BlobKind::Late,
            _ => return None,
        };
        let bucket: i64 = tail.get(1..)?.parse().ok()?;
        let blob = BlobRef {
            content_type,
            kind,
            bucket,
        };
        let info = BlobInfo {
            blob,
            created: self.created(blob),
        };
        let expected = compact_time(info.created);
        (*c1 == expected && *c2 == expected).then_some(info)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::EventRates;
    use crate::time::TICKS_PER_SECOND;

    fn generator() -> Generator {
        Generator::with_options(
            21,
            EventRates {
                directory: 10,
                intune: 10,
                unified: 5000,
            },
            "t",
        )
    }

    #[test]
    fn every_record_is_in_the_blobs_that_claim_it() {
        let g = generator();
        let feed = Feed::new(&g, 30);
        let day0 = 20_000 * TICKS_PER_DAY;
        let now = day0 + 10 * TICKS_PER_DAY;
        let mut listed = Vec::new();
        for ct in ContentType::ALL {
            let mut t = day0;
            while t < now {
                listed.extend(feed.list(ct, t, t + TICKS_PER_DAY, now, day0));
                t += TICKS_PER_DAY;
            }
        }
        let mut seen = std::collections::HashMap::new();
        for info in &listed {
            assert_eq!(
                feed.parse_content_id(&feed.content_id(info)).as_ref(),
                Some(info)
            );
            for s in feed.contents(info.blob, day0) {
                *seen.entry(s.index).or_insert(0) += 1;
                assert!(feed.carriers(&s).contains(&info.created));
            }
        }
        let records: Vec<_> = g
            .timeline(SimSource::Unified)
            .asc(day0, day0 + 5 * TICKS_PER_DAY)
            .collect();
        assert!(records.len() > 20_000);
        let mut dups = 0;
        let mut late = 0;
        for s in &records {
            let n = seen.get(&s.index).copied().unwrap_or(0);
            match meta(s).delivery {
                Delivery::Duplicate => {
                    assert_eq!(n, 2);
                    dups += 1;
                }
                Delivery::Late => {
                    assert_eq!(n, 1);
                    let created = feed.carriers(s)[0];
                    assert!(created - s.time > 2 * TICKS_PER_DAY);
                    late += 1;
                }
                Delivery::Normal => assert_eq!(n, 1),
            }
        }
        assert!(dups > 100 && late > 50, "{dups} {late}");
    }

    #[test]
    fn listing_respects_window_and_now() {
        let g = generator();
        let feed = Feed::new(&g, 30);
        let now = 20_010 * TICKS_PER_DAY + 5 * TICKS_PER_HOUR;
        let start = now - TICKS_PER_DAY;
        let all = feed.list(ContentType::Exchange, start, now + TICKS_PER_DAY, now, 0);
        assert!(!all.is_empty());
        assert!(all.iter().all(|b| b.created >= start && b.created <= now));
        assert!(all.windows(2).all(|w| w[0].sort_key() < w[1].sort_key()));
        // Content is published at least an hour after the newest record in it.
        for b in &all {
            let newest = feed
                .contents(b.blob, 0)
                .iter()
                .map(|s| s.time)
                .max()
                .unwrap_or(0);
            assert!(b.created - newest >= TICKS_PER_HOUR - TICKS_PER_SECOND);
        }
        assert!(feed.parse_content_id("nonsense").is_none());
        assert!(
            feed.parse_content_id("1$2$audit_exchange$Audit_Exchange$r5")
                .is_none()
        );
    }
}
