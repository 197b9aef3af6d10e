//! Gradient clipping by the global L2 norm over all parameters, as Lightning's
//! `gradient_clip_val` (`torch.nn.utils.clip_grad_norm_`): when the norm exceeds `max_norm`,
//! every gradient is multiplied by `max_norm / (norm + 1e-6)`.

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::Tensor;

struct SquaredNorm<'a> {
    grads: &'a GradientsParams,
    total: f64,
}

impl ModuleVisitor for SquaredNorm<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(g) = self.grads.get::<D>(param.id) {
            self.total += g.square().sum().into_scalar::<f32>() as f64;
        }
    }
}

struct Scale<'a> {
    grads: &'a mut GradientsParams,
    factor: f64,
}

impl ModuleVisitor for Scale<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(g) = self.grads.remove::<D>(param.id) {
            self.grads.register(param.id, g.mul_scalar(self.factor));
        }
    }
}

/// Clips `grads` (of `module`'s parameters) to the global norm `max_norm`; returns the norm
/// before clipping.
pub fn clip_global_norm<M: Module>(module: &M, grads: &mut GradientsParams, max_norm: f64) -> f64 {
    let mut norm = SquaredNorm { grads, total: 0.0 };
    module.visit(&mut norm);
    let total = norm.total.sqrt();
    let coef = max_norm / (total + 1e-6);
    if coef < 1.0 {
        module.visit(&mut Scale {
            grads,
            factor: coef,
        });
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::layers::dense;
    use burn::tensor::{Device, TensorData};
    use rand::SeedableRng;

    /// Gradients (3, 0) on the weight and 4 on the bias: global norm 5; clipped to 1 they become
    /// (0.6, 0) and 0.8, as torch.nn.utils.clip_grad_norm_ gives (up to its 1e-6).
    #[test]
    fn clips_by_the_global_norm() {
        let device = Device::flex();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
        let lin = dense(2, 1, &mut rng, &device);
        let mut g = GradientsParams::new();
        g.register(
            lin.weight.id,
            Tensor::<2>::from_data(TensorData::new(vec![3.0f32, 0.0], [2, 1]), &device),
        );
        let bias_id = lin.bias.as_ref().unwrap().id;
        g.register(
            bias_id,
            Tensor::<1>::from_data(TensorData::new(vec![4.0f32], [1]), &device),
        );
        let norm = clip_global_norm(&lin, &mut g, 1.0);
        assert!((norm - 5.0).abs() < 1e-6);
        let w: Vec<f32> = g
            .get::<2>(lin.weight.id)
            .unwrap()
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        let b: Vec<f32> = g
            .get::<1>(bias_id)
            .unwrap()
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        assert!((w[0] - 0.6).abs() < 1e-5 && w[1].abs() < 1e-7 && (b[0] - 0.8).abs() < 1e-5);
        // Under the limit nothing changes.
        let norm = clip_global_norm(&lin, &mut g, 10.0);
        assert!((norm - 1.0).abs() < 1e-5);
    }
}
