//! Building blocks of the neural models (spec §3.2): dense layers initialised as PyTorch's
//! `nn.Linear` (weights and biases uniform in ±1/√fan_in) from our seeded RNG, the MLP
//! `n_layers × (Linear → LayerNorm → ReLU → Dropout) → Linear`, and dropout whose masks come
//! from our RNG (not the backend's global one), so that the same seed gives the same run.

use burn::module::{Module, Param};
use burn::nn::Linear;
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor, TensorData};
use rand::Rng;

/// Epsilon of the non-affine layer norms (PyTorch's default).
pub const LAYER_NORM_EPS: f64 = 1e-5;

/// A `fan_in → fan_out` dense layer with PyTorch's default initialisation drawn from `rng`.
pub fn dense<R: Rng>(fan_in: usize, fan_out: usize, rng: &mut R, device: &Device) -> Linear {
    let bound = 1.0 / (fan_in.max(1) as f32).sqrt();
    let mut draw =
        |n: usize| -> Vec<f32> { (0..n).map(|_| rng.random_range(-bound..=bound)).collect() };
    let w = draw(fan_in * fan_out);
    let b = draw(fan_out);
    Linear {
        weight: Param::from_tensor(Tensor::from_data(
            TensorData::new(w, [fan_in, fan_out]),
            device,
        )),
        bias: Some(Param::from_tensor(Tensor::from_data(
            TensorData::new(b, [fan_out]),
            device,
        ))),
    }
}

/// Layer norm over the last dimension without learned scale or shift.
pub fn layer_norm(x: Tensor<2>) -> Tensor<2> {
    let mean = x.clone().mean_dim(1);
    let centred = x - mean;
    let var = centred.clone().square().mean_dim(1);
    centred / var.add_scalar(LAYER_NORM_EPS).sqrt()
}

/// Inverted dropout with probability `p`, the mask drawn from `rng` (identity when `rng` is
/// `None`, i.e. at evaluation, or when `p` is 0).
pub fn dropout<R: Rng>(x: Tensor<2>, p: f64, rng: Option<&mut R>) -> Tensor<2> {
    let Some(rng) = rng else { return x };
    if p <= 0.0 {
        return x;
    }
    let [n, m] = x.dims();
    let keep = 1.0 - p;
    let scale = (1.0 / keep) as f32;
    let mask: Vec<f32> = (0..n * m)
        .map(|_| {
            if rng.random::<f64>() < keep {
                scale
            } else {
                0.0
            }
        })
        .collect();
    let mask = Tensor::<2>::from_data(TensorData::new(mask, [n, m]), &x.device());
    x * mask
}

/// `MLP(input, hidden, output, n_layers, dropout)` of spec §3.2 with `norm='layer'`.
#[derive(Module, Debug)]
pub struct Mlp {
    /// Hidden layers.
    pub hidden: Vec<Linear>,
    /// Output layer.
    pub output: Linear,
    /// Dropout probability after each hidden block (0 = none).
    pub dropout: f64,
}

impl Mlp {
    /// A fresh MLP with `n_layers` hidden blocks of width `hidden`.
    pub fn new<R: Rng>(
        input: usize,
        hidden: usize,
        output: usize,
        n_layers: usize,
        dropout: f64,
        rng: &mut R,
        device: &Device,
    ) -> Mlp {
        let mut layers = Vec::with_capacity(n_layers);
        let mut width = input;
        for _ in 0..n_layers {
            layers.push(dense(width, hidden, rng, device));
            width = hidden;
        }
        Mlp {
            hidden: layers,
            output: dense(width, output, rng, device),
            dropout,
        }
    }

    /// Forward pass; `rng` is `Some` while training (dropout active).
    pub fn forward<R: Rng>(&self, x: Tensor<2>, mut rng: Option<&mut R>) -> Tensor<2> {
        let mut h = x;
        for layer in &self.hidden {
            h = relu(layer_norm(layer.forward(h)));
            h = dropout(h, self.dropout, rng.as_deref_mut());
        }
        self.output.forward(h)
    }
}

/// An `n × m` tensor of standard normal draws from `rng`.
pub fn standard_normal<R: Rng>(n: usize, m: usize, rng: &mut R, device: &Device) -> Tensor<2> {
    let v: Vec<f32> = (0..n * m)
        .map(|_| rng.sample::<f32, _>(rand_distr::StandardNormal))
        .collect();
    Tensor::from_data(TensorData::new(v, [n, m]), device)
}

impl Mlp {
    /// The output and, per row, the gradient of the sum of the outputs with respect to the
    /// input (`∂ Σ_j out_j / ∂ x`), built from tensor operations so that it is itself
    /// differentiable (used for CPA's gradient penalty; burn has first-order autodiff only).
    pub fn forward_with_input_grad<R: Rng>(
        &self,
        x: Tensor<2>,
        mut rng: Option<&mut R>,
    ) -> (Tensor<2>, Tensor<2>) {
        let mut h = x;
        // Per hidden block: layer-normed activations, ReLU mask, dropout mask (scaled).
        let mut saved = Vec::with_capacity(self.hidden.len());
        for layer in &self.hidden {
            let a = layer.forward(h);
            let mean = a.clone().mean_dim(1);
            let centred = a - mean;
            let inv_std = centred
                .clone()
                .square()
                .mean_dim(1)
                .add_scalar(LAYER_NORM_EPS)
                .sqrt()
                .recip();
            let normed = centred * inv_std.clone();
            let active = normed.clone().greater_elem(0.0).float();
            let r = normed.clone() * active.clone();
            let [n, m] = r.dims();
            let mask = match (rng.as_deref_mut(), self.dropout > 0.0) {
                (Some(g), true) => {
                    let keep = 1.0 - self.dropout;
                    let scale = (1.0 / keep) as f32;
                    let v: Vec<f32> = (0..n * m)
                        .map(|_| if g.random::<f64>() < keep { scale } else { 0.0 })
                        .collect();
                    Some(Tensor::<2>::from_data(
                        TensorData::new(v, [n, m]),
                        &r.device(),
                    ))
                }
                _ => None,
            };
            h = match &mask {
                Some(mk) => r * mk.clone(),
                None => r,
            };
            saved.push((normed, inv_std, active, mask));
        }
        let out = self.output.forward(h);
        let [n, _] = out.dims();
        let ones = Tensor::<2>::ones([n, out.dims()[1]], &out.device());
        let mut g = ones.matmul(self.output.weight.val().transpose());
        for (layer, (normed, inv_std, active, mask)) in self.hidden.iter().zip(saved).rev() {
            if let Some(mk) = mask {
                g = g * mk;
            }
            let gn = g * active;
            // Layer norm backward: (g − mean(g) − y·mean(g·y)) / σ.
            let mean_g = gn.clone().mean_dim(1);
            let mean_gy = (gn.clone() * normed.clone()).mean_dim(1);
            let ga = (gn - mean_g - normed * mean_gy) * inv_std;
            g = ga.matmul(layer.weight.val().transpose());
        }
        (out, g)
    }
}

/// `softplus(x) = log(1 + eˣ)` as `max(x, 0) + ln(1 + e^−|x|)`: no overflow, and `ln` instead
/// of `log1p` (several times faster in libm; the absolute error is below 1e-7 where
/// `e^−|x|` underflows the sum, i.e. for outputs below 6e-8).
pub fn softplus(x: Tensor<2>) -> Tensor<2> {
    let tail = x.clone().abs().neg().exp().add_scalar(1.0).log();
    relu(x) + tail
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::inputs::{matrix, to_host};

    /// torch.nn.functional.softplus(x) = log1p(exp(x)) (x itself above 20), evaluated here in
    /// f64 as the reference.
    #[test]
    fn softplus_matches_log1p_exp() {
        let xs = [-30.0f32, -12.0, -5.0, -1.0, 0.0, 0.5, 3.0, 19.0, 21.0, 50.0];
        let device = Device::flex();
        let y = to_host(softplus(matrix(xs.to_vec(), 1, xs.len(), &device)));
        for (x, y) in xs.iter().zip(y) {
            let x = *x as f64;
            let want = if x > 20.0 { x } else { x.exp().ln_1p() };
            assert!(
                (y as f64 - want).abs() <= 1e-7 + 1e-6 * want.abs(),
                "softplus({x}) = {y}, want {want}"
            );
        }
    }

    /// The explicit input gradient of an MLP equals finite differences of its summed output.
    #[test]
    fn mlp_input_gradient_matches_finite_differences() {
        use rand::SeedableRng;
        let device = Device::flex();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let mlp = Mlp::new(5, 7, 3, 2, 0.0, &mut rng, &device);
        let x: Vec<f32> = (0..10).map(|i| (i as f32 * 0.37).sin()).collect();
        let none: Option<&mut rand_chacha::ChaCha8Rng> = None;
        let (_, g) = mlp.forward_with_input_grad(matrix(x.clone(), 2, 5, &device), none);
        let g = to_host(g);
        let total = |v: &[f32]| -> f64 {
            let none: Option<&mut rand_chacha::ChaCha8Rng> = None;
            to_host(mlp.forward(matrix(v.to_vec(), 2, 5, &device), none))
                .iter()
                .map(|&o| o as f64)
                .sum()
        };
        let h = 1e-2f32;
        for i in 0..10 {
            let (mut up, mut down) = (x.clone(), x.clone());
            up[i] += h;
            down[i] -= h;
            let fd = (total(&up) - total(&down)) / (2.0 * h as f64);
            assert!((fd - g[i] as f64).abs() < 2e-2, "x[{i}]: {fd} vs {}", g[i]);
        }
    }

    /// CPA's gradient penalty `mean((∂ Σ logits / ∂ z)²)` built from the explicit input gradient
    /// is itself differentiated correctly (what the reference gets from autograd with
    /// `create_graph=True`): its gradients with respect to the input `z` (second order, through
    /// the layer norms) and to a hidden weight match finite differences of the penalty.
    #[test]
    fn gradient_penalty_backward_matches_finite_differences() {
        use burn::module::Param;
        use rand::SeedableRng;
        type Rng8 = rand_chacha::ChaCha8Rng;
        let device = Device::flex().autodiff();
        let mut rng = Rng8::seed_from_u64(3);
        let mlp = Mlp::new(4, 6, 3, 2, 0.0, &mut rng, &device);
        let z: Vec<f32> = (0..12).map(|i| (i as f32 * 0.71).cos() * 1.3).collect();
        let penalty = |m: &Mlp, v: &[f32]| -> Tensor<1> {
            let none: Option<&mut Rng8> = None;
            let (_, g) = m.forward_with_input_grad(matrix(v.to_vec(), 3, 4, &device), none);
            g.square().mean().reshape([1])
        };
        let value = |m: &Mlp, v: &[f32]| -> f64 { penalty(m, v).into_scalar::<f32>() as f64 };
        let zt = matrix(z.clone(), 3, 4, &device).require_grad();
        let none: Option<&mut Rng8> = None;
        let (_, g) = mlp.forward_with_input_grad(zt.clone(), none);
        let grads = g.square().mean().backward();
        let gz = to_host(zt.grad(&grads).expect("gradient of z"));
        let w0 = mlp.hidden[0].weight.val();
        let gw = to_host(w0.grad(&grads).expect("gradient of the first weight"));
        // The penalty jumps where a ReLU switches inside [x − h, x + h] (its mask is piecewise
        // constant); there the one-sided differences disagree and the coordinate is skipped.
        let h = 1e-3f64;
        let mut checked = 0;
        let mut check = |up: f64, mid: f64, down: f64, an: f32, what: String| {
            let (right, left) = ((up - mid) / h, (mid - down) / h);
            if (right - left).abs() > 0.05 * (1.0 + right.abs().max(left.abs())) {
                return;
            }
            let fd = (up - down) / (2.0 * h);
            assert!(
                (fd - an as f64).abs() < 2e-3 + 2e-2 * fd.abs(),
                "{what}: {fd} vs {an}"
            );
            checked += 1;
        };
        let mid = value(&mlp, &z);
        for i in 0..z.len() {
            let (mut up, mut down) = (z.clone(), z.clone());
            up[i] += h as f32;
            down[i] -= h as f32;
            check(
                value(&mlp, &up),
                mid,
                value(&mlp, &down),
                gz[i],
                format!("z[{i}]"),
            );
        }
        let w = to_host(w0.clone().detach());
        for i in 0..w.len() {
            let shifted = |d: f64| {
                let mut v = w.clone();
                v[i] += d as f32;
                let mut m = mlp.clone();
                m.hidden[0].weight = Param::from_tensor(matrix(v, 4, 6, &device));
                value(&m, &z)
            };
            check(shifted(h), mid, shifted(-h), gw[i], format!("w[{i}]"));
        }
        assert!(
            checked >= 24,
            "only {checked} of 36 coordinates away from a ReLU switch"
        );
    }
}
