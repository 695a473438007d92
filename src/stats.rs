//! Streaming distributions (R33, R34): exact count, sum, min, max and "within T" counters, plus an
//! HdrHistogram for percentiles. Raw, mergeable fields only; derived values are `Option` methods.

use hdrhistogram::Histogram;

/// The largest value the histograms resolve: five years of seconds (R33). Larger samples are
/// recorded at this value and counted in [`Distribution::saturated`].
pub const HISTOGRAM_MAX_S: u64 = 5 * 366 * 86_400;

/// z for a two-sided 95 % interval (R43).
const Z95: f64 = 1.959963984540054;

/// Significant digits of the report's histograms (R33: ≤ 0.1 % relative error).
pub(crate) const DIGITS: u8 = 3;

/// Significant digits of per-segment histograms (R35): ≤ 1 % relative error in about a tenth of
/// the memory, so a report can keep hundreds of segments.
pub(crate) const SEGMENT_DIGITS: u8 = 2;

/// Samples a distribution keeps as bucket values before it allocates its histogram. A partial
/// report of one conversation (a query engine's group, R36) then costs a few words per metric
/// instead of a histogram of some 150 KB to allocate, encode, decode and add.
const FEW: usize = 16;

fn new_histogram(digits: u8) -> Histogram<u64> {
    // 1 s .. 5 years (R33) at 2 or 3 digits; the bounds are valid for both, so this cannot fail.
    Histogram::new_with_bounds(1, HISTOGRAM_MAX_S, digits).expect("constant histogram bounds are valid")
}

/// An empty histogram of the given precision, for its bucket arithmetic only.
fn shape(digits: u8) -> &'static Histogram<u64> {
    static REPORT: std::sync::OnceLock<Histogram<u64>> = std::sync::OnceLock::new();
    static SEGMENT: std::sync::OnceLock<Histogram<u64>> = std::sync::OnceLock::new();
    let cell = if digits == SEGMENT_DIGITS {
        &SEGMENT
    } else {
        &REPORT
    };
    cell.get_or_init(|| new_histogram(digits))
}

/// One metric on one clock: how many samples, their exact sum, min and max, exact counts of
/// samples within each configured threshold (R34), and a histogram for percentiles (R33).
///
/// # Example
/// ```
/// use sla_metrics::Distribution;
/// let mut d = Distribution::new(&[3600, 86_400]);
/// for s in [0, 300, 7200] {
///     d.record(s);
/// }
/// assert_eq!(d.count(), 3);
/// assert_eq!(d.mean_s(), Some(2500.0));
/// assert_eq!(d.within_share(3600), Some(2.0 / 3.0));
/// assert_eq!(Distribution::new(&[3600]).mean_s(), None); // never NaN
/// ```
#[derive(Clone)]
pub struct Distribution {
    count: u64,
    sum: u128,
    min: u64,
    max: u64,
    saturated: u64,
    /// `(threshold_s, samples <= threshold_s)` for each configured threshold.
    within: Vec<(u64, u64)>,
    /// Significant digits of `hist`.
    digits: u8,
    /// Up to [`FEW`] samples, each as the lowest value of its histogram bucket: exactly what
    /// `hist` would hold, without allocating it. Empty once `hist` exists.
    few: Vec<u64>,
    /// Allocated when the samples outgrow `few`, so empty and small distributions (a segment
    /// with no replies, one conversation's partial report) cost a few dozen bytes.
    hist: Option<Histogram<u64>>,
}

impl std::fmt::Debug for Distribution {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Distribution")
            .field("count", &self.count)
            .field("sum", &self.sum)
            .field("min", &self.min_s())
            .field("max", &self.max_s())
            .field("within", &self.within)
            .field("saturated", &self.saturated)
            .finish_non_exhaustive()
    }
}

impl PartialEq for Distribution {
    fn eq(&self, o: &Distribution) -> bool {
        self.count == o.count
            && self.sum == o.sum
            && self.min == o.min
            && self.max == o.max
            && self.saturated == o.saturated
            && self.within == o.within
            && self.digits == o.digits
            && match (&self.hist, &o.hist) {
                (Some(a), Some(b)) => a == b,
                (None, None) => {
                    let (mut a, mut b) = (self.few.clone(), o.few.clone());
                    a.sort_unstable();
                    b.sort_unstable();
                    a == b
                }
                // The same samples in the other form: compare them as histograms.
                (Some(h), None) => *h == *o.dense(),
                (None, Some(h)) => *self.dense() == *h,
            }
    }
}

impl Distribution {
    /// An empty distribution with exact counters for these thresholds (seconds).
    ///
    /// # Example
    /// ```
    /// use sla_metrics::Distribution;
    /// assert_eq!(Distribution::new(&[3600]).count(), 0);
    /// ```
    pub fn new(thresholds_s: &[u64]) -> Distribution {
        Distribution::with_digits(thresholds_s, DIGITS)
    }

    pub(crate) fn with_digits(thresholds_s: &[u64], digits: u8) -> Distribution {
        Distribution {
            count: 0,
            sum: 0,
            min: u64::MAX,
            max: 0,
            saturated: 0,
            within: thresholds_s.iter().map(|&t| (t, 0)).collect(),
            digits,
            few: Vec::new(),
            hist: None,
        }
    }

    /// Records `n` samples of bucket value `v` (already clamped to the histogram's range) in
    /// `few` while they fit, else in the histogram.
    fn record_bucket(&mut self, v: u64, n: u64) {
        if self.hist.is_none() && self.few.len() as u64 + n <= FEW as u64 {
            if self.few.capacity() == 0 {
                self.few.reserve_exact(FEW);
            }
            let v = shape(self.digits).lowest_equivalent(v);
            self.few.extend(std::iter::repeat(v).take(n as usize));
            return;
        }
        // In range by construction; saturating_record never fails.
        self.histogram_mut().saturating_record_n(v, n);
    }

    /// The histogram, allocated (holding the samples of `few`) if it was not yet.
    fn histogram_mut(&mut self) -> &mut Histogram<u64> {
        let (digits, few) = (self.digits, &mut self.few);
        self.hist.get_or_insert_with(|| {
            let mut h = new_histogram(digits);
            for f in std::mem::take(few) {
                h.saturating_record(f);
            }
            h
        })
    }

    /// The samples as a histogram (built when they are still in `few`).
    fn dense(&self) -> std::borrow::Cow<'_, Histogram<u64>> {
        match &self.hist {
            Some(h) => std::borrow::Cow::Borrowed(h),
            None => {
                let mut h = new_histogram(self.digits);
                self.few.iter().for_each(|&v| h.saturating_record(v));
                std::borrow::Cow::Owned(h)
            }
        }
    }

    /// Records one sample in seconds: O(1) plus one compare per threshold. Zero is a real
    /// sample (R33).
    ///
    /// # Example
    /// ```
    /// use sla_metrics::Distribution;
    /// let mut d = Distribution::new(&[60]);
    /// d.record(0);
    /// assert_eq!((d.count(), d.min_s(), d.within_share(60)), (1, Some(0), Some(1.0)));
    /// ```
    #[inline]
    pub fn record(&mut self, secs: u64) {
        self.count += 1;
        self.sum += secs as u128;
        self.min = self.min.min(secs);
        self.max = self.max.max(secs);
        for (t, n) in &mut self.within {
            if secs <= *t {
                *n += 1;
            }
        }
        let v = if secs > HISTOGRAM_MAX_S {
            self.saturated += 1;
            HISTOGRAM_MAX_S
        } else {
            secs
        };
        match &mut self.hist {
            // In range by construction; saturating_record never fails.
            Some(h) => h.saturating_record(v),
            None => self.record_bucket(v, 1),
        }
    }

    /// Adds another distribution's samples to this one (R36): exact for counts, sums, min, max
    /// and within counters; the histograms add bucket by bucket.
    ///
    /// # Errors
    /// The two distributions count different thresholds (they come from different configs).
    ///
    /// # Example
    /// ```
    /// use sla_metrics::Distribution;
    /// let (mut a, mut b) = (Distribution::new(&[60]), Distribution::new(&[60]));
    /// a.record(10);
    /// b.record(100);
    /// a.merge(&b)?;
    /// assert_eq!((a.count(), a.sum_s(), a.max_s()), (2, 110, Some(100)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn merge(&mut self, other: &Distribution) -> crate::Result<()> {
        if self.within.len() != other.within.len()
            || self.within.iter().zip(&other.within).any(|(a, b)| a.0 != b.0)
        {
            return Err(crate::Error::config(
                "cannot merge distributions with different within_s thresholds (R36)",
            ));
        }
        self.count += other.count;
        self.sum += other.sum;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        self.saturated += other.saturated;
        for (a, b) in self.within.iter_mut().zip(&other.within) {
            a.1 += b.1;
        }
        for &v in &other.few {
            self.record_bucket(v, 1);
        }
        if let Some(h) = other.hist.as_ref().filter(|h| !h.is_empty()) {
            // Same bounds on both sides (precision may differ), so the addition cannot fail.
            self.histogram_mut()
                .add(h)
                .map_err(|e| crate::Error::config(format!("histogram merge failed: {e:?}")))?;
        }
        Ok(())
    }

    /// Number of samples.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Exact sum of all samples, in seconds.
    pub fn sum_s(&self) -> u128 {
        self.sum
    }

    /// Smallest sample; `None` when empty.
    pub fn min_s(&self) -> Option<u64> {
        (self.count > 0).then_some(self.min)
    }

    /// Largest sample (exact, not from the histogram); `None` when empty.
    pub fn max_s(&self) -> Option<u64> {
        (self.count > 0).then_some(self.max)
    }

    /// Samples above the histogram range (five years), recorded at its top (R33).
    pub fn saturated(&self) -> u64 {
        self.saturated
    }

    /// Exact mean, `sum / count`; `None` when empty (R37: never NaN).
    pub fn mean_s(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum as f64 / self.count as f64)
    }

    /// Relative precision of the percentiles and what-if estimates: 0.001 for the report's
    /// histograms (3 significant digits, R33), 0.01 for segments (R35).
    pub fn precision(&self) -> f64 {
        10f64.powi(-i32::from(self.digits))
    }

    /// The `q` quantile (0.0–1.0) from the histogram, within its 0.1 % relative precision (R33):
    /// the highest value equivalent to the bucket holding the quantile, capped at the exact max.
    /// `None` when empty.
    ///
    /// # Example
    /// ```
    /// use sla_metrics::Distribution;
    /// let mut d = Distribution::new(&[]);
    /// (1..=100).for_each(|s| d.record(s));
    /// assert_eq!(d.quantile_s(0.5), Some(50));
    /// ```
    pub fn quantile_s(&self, q: f64) -> Option<u64> {
        if self.count == 0 {
            return None;
        }
        let v = match &self.hist {
            Some(h) => h.value_at_quantile(q),
            None => {
                // What the histogram would answer: the bucket of the ceil(q * n)-th sample.
                let mut few = self.few.clone();
                few.sort_unstable();
                let rank = ((q.min(1.0) * few.len() as f64).ceil() as usize).clamp(1, few.len());
                let v = *few.get(rank - 1)?;
                if q == 0.0 {
                    v
                } else {
                    shape(self.digits).highest_equivalent(v)
                }
            }
        };
        Some(v.min(self.max))
    }

    /// The exact share of samples `<= threshold_s` for a configured threshold (R34); `None` when
    /// empty or when `threshold_s` is not one of the configured thresholds.
    pub fn within_share(&self, threshold_s: u64) -> Option<f64> {
        let n = self.within_count(threshold_s)?;
        (self.count > 0).then(|| n as f64 / self.count as f64)
    }

    /// The exact number of samples `<= threshold_s` for a configured threshold (R34).
    pub fn within_count(&self, threshold_s: u64) -> Option<u64> {
        self.within.iter().find(|w| w.0 == threshold_s).map(|w| w.1)
    }

    /// The configured thresholds with their exact counts, in config order.
    pub fn within(&self) -> &[(u64, u64)] {
        &self.within
    }

    /// A what-if share of samples `<= threshold_s` for any threshold, estimated from the
    /// histogram (R34: histogram precision, not exact); `None` when empty.
    ///
    /// # Example
    /// ```
    /// use sla_metrics::Distribution;
    /// let mut d = Distribution::new(&[]);
    /// [10, 20, 30, 40].iter().for_each(|&s| d.record(s));
    /// assert_eq!(d.estimated_share_within(25), Some(0.5));
    /// ```
    pub fn estimated_share_within(&self, threshold_s: u64) -> Option<f64> {
        (self.count > 0).then(|| self.estimated_count_within(threshold_s) as f64 / self.count as f64)
    }

    /// A what-if count of samples `<= threshold_s`, from the histogram (histogram precision):
    /// the samples in every bucket up to the one holding `threshold_s`.
    ///
    /// # Example
    /// ```
    /// use sla_metrics::Distribution;
    /// let mut d = Distribution::new(&[]);
    /// [10, 20, 30, 40].iter().for_each(|&s| d.record(s));
    /// assert_eq!(d.estimated_count_within(30), 3);
    /// ```
    pub fn estimated_count_within(&self, threshold_s: u64) -> u64 {
        let t = threshold_s.min(HISTOGRAM_MAX_S);
        match &self.hist {
            Some(h) => h.count_between(0, t),
            // Every bucket up to the one holding `t`, whose lowest value is the bound.
            None => {
                let bound = shape(self.digits).lowest_equivalent(t);
                self.few.iter().filter(|&&v| v <= bound).count() as u64
            }
        }
    }
}

impl Distribution {
    pub(crate) fn encode(&self, w: &mut crate::encoding::Writer) {
        w.u64(self.count);
        w.u128(self.sum);
        w.u64(self.min);
        w.u64(self.max);
        w.u64(self.saturated);
        w.u64(self.within.len() as u64);
        for &(t, n) in &self.within {
            w.u64(t);
            w.u64(n);
        }
        w.u8(self.digits);
        // 0: no samples; 1: a histogram (HdrHistogram V2); 2: up to FEW bucket values.
        match &self.hist {
            Some(h) => {
                w.u8(1);
                w.histogram(h);
            }
            None if self.few.is_empty() => w.u8(0),
            None => {
                w.u8(2);
                w.u8(self.few.len() as u8);
                self.few.iter().for_each(|&v| w.u64(v));
            }
        }
    }

    pub(crate) fn decode(r: &mut crate::encoding::Reader<'_>) -> crate::Result<Distribution> {
        let (count, sum, min, max, saturated) = (r.u64()?, r.u128()?, r.u64()?, r.u64()?, r.u64()?);
        let n = r.len()?;
        let within = (0..n)
            .map(|_| Ok((r.u64()?, r.u64()?)))
            .collect::<crate::Result<Vec<_>>>()?;
        let digits = r.u8()?;
        if digits != DIGITS && digits != SEGMENT_DIGITS {
            return Err(crate::Error::encoding(format!("histogram with {digits} digits")));
        }
        let (mut hist, mut few) = (None, Vec::new());
        match r.u8()? {
            0 => {}
            1 => {
                let h = r.histogram()?;
                let fresh = shape(digits);
                if h.low() != fresh.low() || h.high() != fresh.high() || h.sigfig() != fresh.sigfig() {
                    return Err(crate::Error::encoding(
                        "histogram bounds differ from 1 s … 5 years (R33)",
                    ));
                }
                hist = Some(h);
            }
            2 => {
                let n = usize::from(r.u8()?);
                if n > FEW {
                    return Err(crate::Error::encoding(format!("{n} unbucketed samples")));
                }
                for _ in 0..n {
                    let v = r.u64()?;
                    if v > HISTOGRAM_MAX_S || shape(digits).lowest_equivalent(v) != v {
                        return Err(crate::Error::encoding(format!("{v} is not a bucket value")));
                    }
                    few.push(v);
                }
            }
            t => return Err(crate::Error::encoding(format!("histogram tag {t}"))),
        }
        let recorded = hist.as_ref().map_or(few.len() as u64, Histogram::len);
        if recorded != count || within.iter().any(|&(_, k)| k > count) || (count > 0 && min > max) {
            return Err(crate::Error::encoding("distribution counters disagree"));
        }
        Ok(Distribution {
            count,
            sum,
            min,
            max,
            saturated,
            within,
            digits,
            few,
            hist,
        })
    }
}

/// The 95 % Wilson score interval of `successes / n` (R22); `None` when `n == 0`.
///
/// # Example
/// ```
/// let (lo, hi) = sla_metrics::wilson_interval(95, 100).unwrap();
/// assert!(lo > 0.88 && lo < 0.89 && hi > 0.97 && hi < 0.98);
/// assert_eq!(sla_metrics::wilson_interval(0, 0), None);
/// ```
pub fn wilson_interval(successes: u64, n: u64) -> Option<(f64, f64)> {
    if n == 0 {
        return None;
    }
    let n_f = n as f64;
    let p = successes as f64 / n_f;
    let z2 = Z95 * Z95;
    let denom = 1.0 + z2 / n_f;
    let centre = (p + z2 / (2.0 * n_f)) / denom;
    let half = Z95 * (p * (1.0 - p) / n_f + z2 / (4.0 * n_f * n_f)).sqrt() / denom;
    Some(((centre - half).max(0.0), (centre + half).min(1.0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r33_saturation_counted() {
        let mut d = Distribution::new(&[]);
        d.record(HISTOGRAM_MAX_S * 2);
        assert_eq!(d.saturated(), 1);
        assert_eq!(d.max_s(), Some(HISTOGRAM_MAX_S * 2));
    }

    #[test]
    fn r33_quantile_precision() {
        let mut d = Distribution::new(&[]);
        (1..=100_000u64).for_each(|s| d.record(s));
        let p99 = d.quantile_s(0.99).unwrap() as f64;
        assert!((p99 - 99_000.0).abs() / 99_000.0 <= 0.001, "{p99}");
    }

    use proptest::prelude::*;

    /// Samples spread over the whole range: seconds, hours, years, and past five years.
    fn samples() -> impl Strategy<Value = Vec<u64>> {
        prop::collection::vec(
            prop_oneof![0u64..120, 0u64..200_000, 0u64..HISTOGRAM_MAX_S * 2],
            0..(FEW * 2 + 4),
        )
    }

    proptest! {
        /// R33: a distribution answers percentiles and what-if counts exactly as its histogram
        /// would, whether its samples are still few (bucket values) or already in the histogram.
        #[test]
        fn r33_few_samples_answer_as_the_histogram(xs in samples(), two in any::<bool>(), t in 0u64..HISTOGRAM_MAX_S * 2) {
            let digits = if two { SEGMENT_DIGITS } else { DIGITS };
            let mut d = Distribution::with_digits(&[3600], digits);
            let mut h = new_histogram(digits);
            for &x in &xs {
                d.record(x);
                h.saturating_record(x.min(HISTOGRAM_MAX_S));
            }
            prop_assert_eq!(d.hist.is_none(), xs.len() <= FEW);
            for q in [0.0, 0.01, 0.5, 0.9, 0.95, 0.99, 1.0, 1.5] {
                let expected = (!xs.is_empty()).then(|| h.value_at_quantile(q).min(d.max));
                prop_assert_eq!(d.quantile_s(q), expected, "q {}", q);
            }
            prop_assert_eq!(d.estimated_count_within(t), h.count_between(0, t.min(HISTOGRAM_MAX_S)));
            prop_assert!(*d.dense() == h);
        }

        /// R36: merging two parts in either form equals recording all samples in one, and the
        /// binary encoding round-trips either form.
        #[test]
        fn r36_few_and_dense_merge_and_encode_alike(xs in samples(), cut in 0usize..40) {
            let cut = cut.min(xs.len());
            let mut whole = Distribution::new(&[60, 3600]);
            xs.iter().for_each(|&x| whole.record(x));
            let (mut a, mut b) = (Distribution::new(&[60, 3600]), Distribution::new(&[60, 3600]));
            xs[..cut].iter().for_each(|&x| a.record(x));
            xs[cut..].iter().for_each(|&x| b.record(x));
            let mut ab = a.clone();
            ab.merge(&b).unwrap();
            b.merge(&a).unwrap();
            prop_assert_eq!(&ab, &whole);
            prop_assert_eq!(&b, &whole);
            for d in [&a, &whole] {
                let mut w = crate::encoding::Writer(Vec::new());
                d.encode(&mut w);
                let mut r = crate::encoding::Reader::unchecked(&w.0);
                prop_assert_eq!(&Distribution::decode(&mut r).unwrap(), d);
            }
        }
    }
}
