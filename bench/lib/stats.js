// Order statistics of samples: the median is what the tables report; p50/p99 for latencies.

/** The q-quantile (0..1) by linear interpolation between closest ranks. */
function quantile(samples, q) {
  if (!samples.length) return NaN;
  const s = [...samples].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}

const median = (samples) => quantile(samples, 0.5);

/**
 * The median of the turn (a runner's run: `turn` consecutive samples) whose median is lowest:
 * what the system does when nothing else disturbs the device, for latencies that come in two
 * modes on a shared disk.
 */
function quietestTurn(samples, turn) {
  let best = Infinity;
  for (let i = 0; i + turn <= samples.length; i += turn)
    best = Math.min(best, quantile(samples.slice(i, i + turn), 0.5));
  return best;
}

module.exports = { quantile, median, quietestTurn };
