//! Limits shared by every replica through Redis. The same GCRA as in-process, run as one Lua
//! script so the read-modify-write is atomic, on Redis's own clock so replicas whose clocks
//! drift still agree.

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::{Category, Decision, Quotas};

/// A request never waits longer than this on Redis before it is refused.
const CALL_TIMEOUT: Duration = Duration::from_secs(2);

/// KEYS[1] = the client's key; ARGV[1] = emission interval (µs); ARGV[2] = window (µs).
/// Returns {1, 0} when allowed, {0, wait µs} when not.
const GCRA: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + interval
local wait = new_tat - window - now
if wait > 0 then return {0, wait} end
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', math.ceil((new_tat - now) / 1000))
return {1, 0}
";

#[derive(Debug, thiserror::Error)]
pub enum RedisError {
    /// The message never includes the URL: it may carry a password.
    #[error("REDIS_URL is not a valid Redis URL")]
    BadUrl,
    #[error("redis: {0}")]
    Call(String),
    #[error("redis did not answer in time")]
    Timeout,
}

pub struct RedisLimiter {
    client: redis::Client,
    conn: tokio::sync::OnceCell<ConnectionManager>,
    script: redis::Script,
    quotas: Quotas,
}

impl RedisLimiter {
    pub fn new(url: &str, quotas: Quotas) -> Result<Self, RedisError> {
        let client = redis::Client::open(url).map_err(|_| RedisError::BadUrl)?;
        Ok(Self {
            client,
            conn: tokio::sync::OnceCell::new(),
            script: redis::Script::new(GCRA),
            quotas,
        })
    }

    async fn connection(&self) -> Result<ConnectionManager, RedisError> {
        let conn = self
            .conn
            .get_or_try_init(|| async {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(Duration::from_secs(1)))
                    .set_response_timeout(Some(Duration::from_secs(1)))
                    .set_number_of_retries(1)
                    .set_max_delay(Duration::from_secs(2));
                ConnectionManager::new_lazy_with_config(self.client.clone(), config)
                    .map_err(|e| RedisError::Call(e.to_string()))
            })
            .await?;
        Ok(conn.clone())
    }

    pub async fn check(&self, category: Category, key: &str) -> Result<Decision, RedisError> {
        let quota = self.quotas.get(category);
        let mut conn = self.connection().await?;
        let redis_key = format!("aoc:ratelimit:{}:{key}", category.name());
        let mut invocation = self.script.key(redis_key);
        invocation
            .arg(micros(quota.interval()))
            .arg(micros(quota.window));
        let (allowed, wait): (i64, i64) =
            tokio::time::timeout(CALL_TIMEOUT, invocation.invoke_async(&mut conn))
                .await
                .map_err(|_| RedisError::Timeout)?
                .map_err(|e| RedisError::Call(e.to_string()))?;
        Ok(if allowed == 1 {
            Decision::Allow
        } else {
            Decision::Deny {
                retry_after: Duration::from_micros(u64::try_from(wait).unwrap_or(0)),
            }
        })
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}
