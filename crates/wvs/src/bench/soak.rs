//! `--size-every`: a soak run samples the store's size at a steady interval while the
//! events are posted and delivered, to show whether it levels off (a retention pruning
//! behind the load) or keeps growing.

use std::time::{Duration, Instant};

use serde::Serialize;
use tokio_util::sync::CancellationToken;

use super::target::Store;

/// One look at the store: seconds since the first post, bytes on disk.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct SizeSample {
    pub seconds: f64,
    pub bytes: u64,
}

/// The store's size over a run and whether it levelled off.
#[derive(Debug, Serialize)]
pub struct SizeOverTime {
    pub every_seconds: f64,
    pub samples: Vec<SizeSample>,
    /// The sample nearest the run's half-way point.
    pub at_half_bytes: u64,
    /// The largest sample of the run's second half.
    pub max_last_half_bytes: u64,
    /// `max_last_half_bytes / at_half_bytes - 1`: at most 0.10 for a store that levels off.
    pub last_half_growth: f64,
}

impl SizeOverTime {
    fn new(every: Duration, samples: Vec<SizeSample>) -> Option<SizeOverTime> {
        let end = samples.last()?.seconds;
        let half = end / 2.0;
        let at_half = samples
            .iter()
            .min_by(|a, b| {
                (a.seconds - half)
                    .abs()
                    .total_cmp(&(b.seconds - half).abs())
            })?
            .bytes;
        let max_last_half = samples
            .iter()
            .filter(|sample| sample.seconds >= half)
            .map(|sample| sample.bytes)
            .max()?;
        Some(SizeOverTime {
            every_seconds: every.as_secs_f64(),
            samples,
            at_half_bytes: at_half,
            max_last_half_bytes: max_last_half,
            last_half_growth: max_last_half as f64 / at_half.max(1) as f64 - 1.0,
        })
    }
}

/// Samples a store's size in the background until [`Sampler::finish`].
pub struct Sampler {
    stop: CancellationToken,
    task: tokio::task::JoinHandle<Vec<SizeSample>>,
    every: Duration,
}

impl Sampler {
    /// Starts sampling `store` every `every`, counting from `started`.
    pub fn start(store: Store, every: Duration, started: Instant) -> Sampler {
        let stop = CancellationToken::new();
        let stopped = stop.clone();
        let task = tokio::spawn(async move {
            let mut samples = Vec::new();
            let mut ticks = tokio::time::interval(every);
            loop {
                tokio::select! {
                    _ = ticks.tick() => {}
                    () = stopped.cancelled() => return samples,
                }
                // A look that fails (a file renamed, a connection refused) is left out.
                if let Ok(Some(bytes)) = store.size().await {
                    let seconds = started.elapsed().as_secs_f64();
                    samples.push(SizeSample { seconds, bytes });
                }
            }
        });
        Sampler { stop, task, every }
    }

    /// Stops sampling; the samples and their summary (none without a sample).
    pub async fn finish(self) -> Option<SizeOverTime> {
        self.stop.cancel();
        let samples = self.task.await.ok()?;
        SizeOverTime::new(self.every, samples)
    }
}
