//! PEP 458's hashed bins: the `bins` role delegates to N `bin-…` roles by
//! the prefix of the hex SHA-256 of a target's path. N is a power of two;
//! each bin takes `16^len / N` consecutive prefixes of `len` hex digits
//! (`len` the fewest digits that give every bin at least one), and is
//! named after its first prefix (`bin-0`, …; `bin-03a8`, … for 16,384).

use crate::TufError;

/// The most bins kiln makes: four hex digits, one prefix each.
pub const MAX_BINS: u32 = 65_536;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bins {
    count: u32,
    digits: usize,
    per_bin: u32,
}

impl Bins {
    /// `count` bins: a power of two from 1 to [`MAX_BINS`].
    pub fn new(count: u32) -> Result<Bins, TufError> {
        if !count.is_power_of_two() || count > MAX_BINS {
            return Err(TufError::BinCount { count });
        }
        let bits = count.trailing_zeros() as usize;
        let digits = bits.div_ceil(4).max(1);
        let per_bin = (16u32.pow(digits as u32)) / count;
        Ok(Bins {
            count,
            digits,
            per_bin,
        })
    }

    pub fn count(&self) -> u32 {
        self.count
    }

    /// The bin a target path falls in.
    pub fn index(&self, path: &str) -> u32 {
        let hash = kiln_digest::hex(&kiln_digest::sha256(path.as_bytes()));
        let prefix = u32::from_str_radix(&hash[..self.digits], 16).unwrap_or(0);
        prefix / self.per_bin
    }

    fn prefix(&self, n: u32) -> String {
        format!("{n:0width$x}", width = self.digits)
    }

    /// The role name of bin `i`.
    pub fn name(&self, i: u32) -> String {
        format!("bin-{}", self.prefix(i * self.per_bin))
    }

    /// The hash prefixes bin `i` is delegated.
    pub fn prefixes(&self, i: u32) -> Vec<String> {
        (i * self.per_bin..(i + 1) * self.per_bin)
            .map(|n| self.prefix(n))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_cover_every_prefix_once_and_name_their_first() {
        for count in [1, 2, 16, 32, 256, 16_384] {
            let bins = Bins::new(count).unwrap();
            let all: Vec<String> = (0..count).flat_map(|i| bins.prefixes(i)).collect();
            let digits = all[0].len();
            assert_eq!(all.len(), 16usize.pow(digits as u32), "{count}");
            assert!(all.windows(2).all(|w| w[0] < w[1]));
            assert_eq!(
                bins.name(count - 1),
                format!("bin-{}", bins.prefixes(count - 1)[0])
            );
        }
        let bins = Bins::new(16).unwrap();
        let path = "files/demo-1.0-py3-none-any.whl";
        let hash = kiln_digest::hex(&kiln_digest::sha256(path.as_bytes()));
        assert_eq!(bins.name(bins.index(path)), format!("bin-{}", &hash[..1]));
        for bad in [0, 3, 12, 131_072] {
            assert!(Bins::new(bad).is_err(), "{bad}");
        }
    }
}
