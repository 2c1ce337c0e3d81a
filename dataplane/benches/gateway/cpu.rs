//! How much of the machine other processes used while the bench ran: on a
//! shared 2-core machine a concurrent build skews every number, and the
//! report should say so.

/// CPU time counters, in clock ticks.
#[derive(Clone, Copy, Debug)]
pub struct CpuTimes {
    /// All CPUs: busy and total.
    machine_busy: u64,
    machine_total: u64,
    /// This process (user + system).
    own: u64,
}

impl CpuTimes {
    /// Now, from `/proc/stat` and `/proc/self/stat`; `None` where unreadable.
    pub fn now() -> Option<Self> {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        let ticks: Vec<u64> = stat
            .lines()
            .next()?
            .strip_prefix("cpu ")?
            .split_whitespace()
            .filter_map(|n| n.parse().ok())
            .collect();
        // user nice system idle iowait irq softirq steal (guest time is in user)
        let total: u64 = ticks.iter().take(8).sum();
        let idle = ticks.get(3)? + ticks.get(4)?;
        let own = std::fs::read_to_string("/proc/self/stat").ok()?;
        // Fields after the command name: state is field 3, utime 14, stime 15.
        let fields: Vec<&str> = own.rsplit_once(')')?.1.split_whitespace().collect();
        let utime: u64 = fields.get(11)?.parse().ok()?;
        let stime: u64 = fields.get(12)?.parse().ok()?;
        Some(Self {
            machine_busy: total - idle,
            machine_total: total,
            own: utime + stime,
        })
    }

    /// The share of all CPUs' time since `self` that other processes used.
    pub fn others_since(&self, now: &Self) -> f64 {
        let total = now.machine_total.saturating_sub(self.machine_total).max(1);
        let busy = now.machine_busy.saturating_sub(self.machine_busy);
        let own = now.own.saturating_sub(self.own);
        busy.saturating_sub(own) as f64 / total as f64
    }
}

/// On-CPU time so far of this process's threads named `name` (the worker
/// threads of one runtime), in nanoseconds, from `/proc/self/task/*/schedstat`.
pub fn threads_ns(name: &str) -> u64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .filter_map(Result::ok)
        .filter(|task| {
            std::fs::read_to_string(task.path().join("comm")).is_ok_and(|comm| comm.trim() == name)
        })
        .filter_map(|task| {
            let schedstat = std::fs::read_to_string(task.path().join("schedstat")).ok()?;
            schedstat.split_whitespace().next()?.parse::<u64>().ok()
        })
        .sum()
}
