//! The tensors one forward pass reads: (paired or counterfactual) control expression,
//! multi-hot perturbations and one-hot covariates, plus the observed cells as the target.

use burn::tensor::{Device, Tensor, TensorData};

/// One minibatch on a device.
#[derive(Debug, Clone)]
pub struct Inputs {
    /// Control expression, rows × genes (zeros when the model ignores it).
    pub controls: Tensor<2>,
    /// Multi-hot perturbations, rows × perturbations.
    pub perturbations: Tensor<2>,
    /// Concatenated one-hot covariates, rows × Σ levels (may have zero columns).
    pub covariates: Tensor<2>,
}

/// A row-major host matrix as a tensor.
pub fn matrix(values: Vec<f32>, rows: usize, cols: usize, device: &Device) -> Tensor<2> {
    debug_assert_eq!(values.len(), rows * cols);
    Tensor::from_data(TensorData::new(values, [rows, cols]), device)
}

/// A tensor back on the host, row-major.
pub fn to_host(t: Tensor<2>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .expect("float tensor data converts to f32")
}

/// `[a ; b]` along the feature axis (b may have no columns).
pub fn concat(a: Tensor<2>, b: Tensor<2>) -> Tensor<2> {
    if b.dims()[1] == 0 {
        return a;
    }
    Tensor::cat(vec![a, b], 1)
}
