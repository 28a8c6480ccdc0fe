//! Splitting a campaign across machines: `--shard K/N` gives this process the books whose
//! name hashes to K of N. The split is by book (a book's outputs are written by one
//! process) and by name, not by position, so shards started at different moments agree
//! even when a book folder appears in between. On a cluster the index comes from the job
//! engine: Slurm's array task id (less the array's first id), Kubernetes' Indexed Job
//! completion index.

use sha2::{Digest, Sha256};

/// This process's part of a campaign.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// 0-based index.
    pub index: u32,
    /// Number of shards.
    pub count: u32,
}

impl Shard {
    /// `K/N` (0 ≤ K < N), or `N` alone with K from the job engine's environment
    /// (`SLURM_ARRAY_TASK_ID` less `SLURM_ARRAY_TASK_MIN`, or `JOB_COMPLETION_INDEX`).
    pub fn parse(s: &str) -> Result<Shard, String> {
        Shard::parse_with(s, |k| std::env::var(k).ok())
    }

    fn parse_with(s: &str, env: impl Fn(&str) -> Option<String>) -> Result<Shard, String> {
        let number = |v: &str, what: &str| {
            v.trim()
                .parse::<u32>()
                .map_err(|_| format!("{what} must be a whole number, not {v:?}"))
        };
        let (index, count) = match s.split_once('/') {
            Some((k, n)) => (number(k, "the shard index")?, number(n, "the shard count")?),
            None => {
                let count = number(s, "the shard count")?;
                let index = if let Some(id) = env("SLURM_ARRAY_TASK_ID") {
                    let first = env("SLURM_ARRAY_TASK_MIN").map_or(Ok(0), |m| number(&m, "SLURM_ARRAY_TASK_MIN"))?;
                    number(&id, "SLURM_ARRAY_TASK_ID")?
                        .checked_sub(first)
                        .ok_or("SLURM_ARRAY_TASK_ID is below SLURM_ARRAY_TASK_MIN")?
                } else if let Some(i) = env("JOB_COMPLETION_INDEX") {
                    number(&i, "JOB_COMPLETION_INDEX")?
                } else {
                    return Err(format!(
                        "--shard {count} needs this shard's index: give K/{count}, or run as a Slurm array \
                         task (SLURM_ARRAY_TASK_ID) or a Kubernetes Indexed Job (JOB_COMPLETION_INDEX)"
                    ));
                };
                (index, count)
            }
        };
        if count == 0 || index >= count {
            return Err(format!(
                "shard {index}/{count}: the index must be below the count (0-based)"
            ));
        }
        Ok(Shard { index, count })
    }

    /// True when the book named `book` is this shard's.
    pub fn holds(&self, book: &str) -> bool {
        let h = Sha256::digest(book.as_bytes());
        let n = u64::from_be_bytes(h[..8].try_into().expect("8 bytes"));
        n % u64::from(self.count) == u64::from(self.index)
    }

    /// `shard-K-of-N`, for this shard's files in OUT.
    pub fn tag(&self) -> String {
        format!("shard-{}-of-{}", self.index, self.count)
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_come_from_the_flag_or_the_job_engine() {
        let none = |_: &str| None;
        assert_eq!(Shard::parse_with("1/4", none), Ok(Shard { index: 1, count: 4 }));
        assert!(Shard::parse_with("4/4", none).is_err());
        assert!(Shard::parse_with("x/4", none).is_err());
        assert!(Shard::parse_with("4", none)
            .unwrap_err()
            .contains("SLURM_ARRAY_TASK_ID"));
        let slurm = |k: &str| match k {
            "SLURM_ARRAY_TASK_ID" => Some("3".to_string()),
            "SLURM_ARRAY_TASK_MIN" => Some("1".to_string()),
            _ => None,
        };
        assert_eq!(Shard::parse_with("4", slurm), Ok(Shard { index: 2, count: 4 }));
        let k8s = |k: &str| (k == "JOB_COMPLETION_INDEX").then(|| "0".to_string());
        assert_eq!(Shard::parse_with("2", k8s), Ok(Shard { index: 0, count: 2 }));
    }

    #[test]
    fn every_book_is_in_exactly_one_shard() {
        let shards: Vec<Shard> = (0..3).map(|index| Shard { index, count: 3 }).collect();
        let mut sizes = [0; 3];
        for i in 0..300 {
            let book = format!("so-{i}");
            let holders: Vec<usize> = (0..3).filter(|&s| shards[s].holds(&book)).collect();
            assert_eq!(holders.len(), 1, "{book}");
            sizes[holders[0]] += 1;
        }
        assert!(sizes.iter().all(|&n| n > 70), "{sizes:?}");
    }
}
