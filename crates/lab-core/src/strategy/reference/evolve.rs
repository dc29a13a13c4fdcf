//! The optimisers: `evolutionary_merge` (spec §2.11) and `genetic_merge`
//! (§2.12). Both search coefficient vectors with CPython's `random.Random`
//! and a fitness of `−variance(merged weights)`. They are class E as long
//! as the RNG (including libm's cos/sin/log inside `gauss`) is bit-exact.

use super::util::{f64_param, i64_param, prelude};
use crate::error::MergeError;
use crate::pyrandom::PyRandom;
use crate::strategy::{
    param_f64, param_i64, Family, MergeInputs, ParamSpec, Params, ReproClass, Strategy,
    StrategyInfo,
};
use crate::tensor::Tensor;
use std::cmp::Ordering;

/// `evolutionary_merge`: truncation selection with Gaussian mutation. Its
/// unnormalised initial population makes it return a scaled-down input
/// (the §2.11 shrink bug), which is reproduced.
pub struct EvolutionaryMerge;

static EVO_PARAMS: [ParamSpec; 2] = [
    i64_param(
        "population_size",
        20,
        1.0,
        10_000.0,
        "Individuals per generation.",
    ),
    i64_param("generations", 50, 1.0, 100_000.0, "Number of generations."),
];

static EVO_INFO: StrategyInfo = StrategyInfo {
    name: "evolutionary_merge",
    family: Family::Reference,
    needs_base: false,
    stochastic: true,
    uses_weights: false,
    class: ReproClass::E,
    params: &EVO_PARAMS,
    summary:
        "Evolves mixing coefficients to minimise the merged weights' variance (shrinks the output).",
};

impl Strategy for EvolutionaryMerge {
    fn info(&self) -> &StrategyInfo {
        &EVO_INFO
    }

    fn merge(&self, inputs: &MergeInputs<'_>, params: &Params) -> Result<Tensor, MergeError> {
        if let Some(done) = prelude(&EVO_INFO, inputs)? {
            return Ok(done);
        }
        let p = param_i64(params, "population_size").max(1) as usize;
        let g = param_i64(params, "generations").max(1) as usize;
        let pool = Pool::new(inputs);
        let best = evolve(&pool, p, g, inputs.seed);
        Ok(inputs.tensors[0].with_data(pool.mix(&best)))
    }
}

/// `genetic_merge`: tournament selection, uniform crossover and sparse
/// Gaussian mutation; coefficients always sum to 1.
pub struct GeneticMerge;

static GEN_PARAMS: [ParamSpec; 3] = [
    i64_param(
        "population_size",
        20,
        1.0,
        10_000.0,
        "Individuals per generation.",
    ),
    i64_param("generations", 50, 1.0, 100_000.0, "Number of generations."),
    f64_param(
        "mutation_rate",
        0.1,
        0.0,
        1.0,
        "Per-gene mutation probability, also the mutation's Gaussian σ.",
    ),
];

static GEN_INFO: StrategyInfo = StrategyInfo {
    name: "genetic_merge",
    family: Family::Reference,
    needs_base: false,
    stochastic: true,
    uses_weights: false,
    class: ReproClass::E,
    params: &GEN_PARAMS,
    summary: "Genetic search over mixing coefficients minimising the merged weights' variance.",
};

impl Strategy for GeneticMerge {
    fn info(&self) -> &StrategyInfo {
        &GEN_INFO
    }

    fn merge(&self, inputs: &MergeInputs<'_>, params: &Params) -> Result<Tensor, MergeError> {
        if let Some(done) = prelude(&GEN_INFO, inputs)? {
            return Ok(done);
        }
        let p = param_i64(params, "population_size").max(1) as usize;
        let g = param_i64(params, "generations").max(1) as usize;
        let mu = param_f64(params, "mutation_rate");
        let pool = Pool::new(inputs);
        let best = genetic(&pool, p, g, mu, inputs.seed);
        Ok(inputs.tensors[0].with_data(pool.mix(&best)))
    }
}

/// The flattened inputs and the default fitness.
struct Pool<'a> {
    models: Vec<&'a [f64]>,
    d: usize,
}

impl<'a> Pool<'a> {
    fn new(inputs: &MergeInputs<'a>) -> Pool<'a> {
        Pool {
            models: inputs.tensors.iter().map(|t| t.data()).collect(),
            d: inputs.tensors[0].len(),
        }
    }

    fn n(&self) -> usize {
        self.models.len()
    }

    /// `Σ_i c_i x_i` element by element: `acc = 0; acc = acc + x_ij·c_i`.
    fn mix(&self, c: &[f64]) -> Vec<f64> {
        (0..self.d)
            .map(|j| {
                self.models
                    .iter()
                    .zip(c)
                    .fold(0.0, |acc, (x, &ci)| acc + x[j] * ci)
            })
            .collect()
    }

    /// `−var(mix(c))` with sequential sums.
    fn fitness(&self, c: &[f64]) -> f64 {
        let v = self.mix(c);
        let d = v.len() as f64;
        let mean = v.iter().fold(0.0, |a, x| a + x) / d;
        let var = v.iter().fold(0.0, |a, x| {
            let e = x - mean;
            a + e * e
        }) / d;
        -var
    }

    fn uniform(&self) -> Vec<f64> {
        vec![1.0 / self.n() as f64; self.n()]
    }

    /// Divides by the sequential sum, or returns uniform if the sum is 0.
    fn normalise(&self, c: Vec<f64>) -> Vec<f64> {
        let s = c.iter().fold(0.0, |a, v| a + v);
        if s == 0.0 {
            return self.uniform();
        }
        c.iter().map(|v| v / s).collect()
    }
}

/// Python's `max(0, v)`.
fn clip0(v: f64) -> f64 {
    if v > 0.0 {
        v
    } else {
        0.0
    }
}

/// Tracks the best individual with a strict `>` (earliest wins ties).
struct Best {
    fit: f64,
    coeffs: Vec<f64>,
}

impl Best {
    fn update(&mut self, pop: &[Vec<f64>], fits: &[f64]) {
        for (c, &f) in pop.iter().zip(fits) {
            if f > self.fit {
                self.fit = f;
                self.coeffs = c.clone();
            }
        }
    }
}

fn evolve(pool: &Pool<'_>, p: usize, generations: usize, seed: u64) -> Vec<f64> {
    let mut rng = PyRandom::new(i128::from(seed));
    let n = pool.n();
    let mut pop: Vec<Vec<f64>> = (0..p).map(|_| initial_gauss(&mut rng, n)).collect();
    pop[0] = pool.uniform();
    let mut best = Best {
        fit: f64::NEG_INFINITY,
        coeffs: pool.uniform(),
    };
    for _ in 0..generations {
        let fits: Vec<f64> = pop.iter().map(|c| pool.fitness(c)).collect();
        best.update(&pop, &fits);
        let mut ranked: Vec<usize> = (0..p).collect();
        ranked.sort_by(|&a, &b| fits[b].partial_cmp(&fits[a]).unwrap_or(Ordering::Equal));
        let elite = &ranked[..(p / 2).max(1)];
        let mut next = vec![best.coeffs.clone()];
        while next.len() < p {
            let pick = rng.randint(0, elite.len() as i64 - 1) as usize;
            let child = pop[elite[pick]]
                .iter()
                .map(|v| clip0(v + rng.gauss(0.0, 0.1)))
                .collect();
            next.push(pool.normalise(child));
        }
        pop = next;
    }
    best.coeffs
}

/// `g_j = gauss(1/n, 0.3)`, divided by `Σ|g|` *then* clipped at 0 (the
/// §2.11 bug: the result sums to less than 1).
fn initial_gauss(rng: &mut PyRandom, n: usize) -> Vec<f64> {
    let mu = 1.0 / n as f64;
    let g: Vec<f64> = (0..n).map(|_| rng.gauss(mu, 0.3)).collect();
    let s = g.iter().fold(0.0, |a, v| a + v.abs());
    if s == 0.0 {
        return vec![mu; n];
    }
    g.iter().map(|&v| clip0(v) / s).collect()
}

fn genetic(pool: &Pool<'_>, p: usize, generations: usize, mu: f64, seed: u64) -> Vec<f64> {
    let mut rng = PyRandom::new(i128::from(seed));
    let n = pool.n();
    let mut pop: Vec<Vec<f64>> = (0..p)
        .map(|_| pool.normalise((0..n).map(|_| rng.random()).collect()))
        .collect();
    pop[0] = pool.uniform();
    let mut best = Best {
        fit: f64::NEG_INFINITY,
        coeffs: pool.uniform(),
    };
    for _ in 0..generations {
        let fits: Vec<f64> = pop.iter().map(|c| pool.fitness(c)).collect();
        best.update(&pop, &fits);
        let mut next = vec![best.coeffs.clone()];
        while next.len() < p {
            let a = tournament(&mut rng, &fits);
            let b = tournament(&mut rng, &fits);
            let mut child: Vec<f64> = (0..n)
                .map(|j| {
                    if rng.random() < 0.5 {
                        pop[a][j]
                    } else {
                        pop[b][j]
                    }
                })
                .collect();
            for gene in child.iter_mut() {
                if rng.random() < mu {
                    *gene = clip0(*gene + rng.gauss(0.0, mu));
                }
            }
            next.push(pool.normalise(child));
        }
        pop = next;
    }
    best.coeffs
}

/// Three `randint(0, P−1)` draws; the fittest wins, the first drawn on ties.
fn tournament(rng: &mut PyRandom, fits: &[f64]) -> usize {
    let hi = fits.len() as i64 - 1;
    let idx = [rng.randint(0, hi), rng.randint(0, hi), rng.randint(0, hi)];
    let mut best = idx[0] as usize;
    for &i in &idx[1..] {
        if fits[i as usize] > fits[best] {
            best = i as usize;
        }
    }
    best
}
