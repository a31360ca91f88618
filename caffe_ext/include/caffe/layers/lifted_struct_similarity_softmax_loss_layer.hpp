#ifndef CAFFE_LIFTED_STRUCT_SIMILARITY_SOFTMAX_LOSS_LAYER_HPP_
#define CAFFE_LIFTED_STRUCT_SIMILARITY_SOFTMAX_LOSS_LAYER_HPP_

#include <vector>

#include "caffe/blob.hpp"
#include "caffe/layer.hpp"
#include "caffe/proto/caffe.pb.h"

#include "caffe/layers/loss_layer.hpp"

namespace caffe {

/**
 * @brief Lifted structured embedding loss (Song et al., CVPR 2016).
 *
 * bottom[0]: B x D features, bottom[1]: B labels (integers stored as Dtype).
 * With D_ab = ||f_a - f_b||_2 and m = margin, for each positive pair i < j
 * (same label):
 *   J_ij = log( sum_{k: y_k != y_i} exp(m - D_ik)
 *             + sum_{l: y_l != y_j} exp(m - D_jl) ) + D_ij
 *   loss = 1 / (2 |P|) * sum_P max(0, J_ij)^2
 * A positive pair with no negative in the batch contributes 0; a batch with
 * no positive pair gives loss 0. Gradients flow to the features only.
 */
template <typename Dtype>
class LiftedStructSimilaritySoftmaxLossLayer : public LossLayer<Dtype> {
 public:
  explicit LiftedStructSimilaritySoftmaxLossLayer(const LayerParameter& param)
      : LossLayer<Dtype>(param) {}
  virtual void Reshape(const vector<Blob<Dtype>*>& bottom,
      const vector<Blob<Dtype>*>& top);

  virtual inline const char* type() const {
    return "LiftedStructSimilaritySoftmaxLoss";
  }
  virtual inline bool AllowForceBackward(const int bottom_index) const {
    return bottom_index != 1;
  }

 protected:
  virtual void Forward_cpu(const vector<Blob<Dtype>*>& bottom,
      const vector<Blob<Dtype>*>& top);
  virtual void Backward_cpu(const vector<Blob<Dtype>*>& top,
      const vector<bool>& propagate_down, const vector<Blob<Dtype>*>& bottom);

  Blob<Dtype> dist_;       // B x B Euclidean distances
  Blob<Dtype> pair_grad_;  // B x B dLoss/dD_ab (before top diff scaling)
};

}  // namespace caffe

#endif  // CAFFE_LIFTED_STRUCT_SIMILARITY_SOFTMAX_LOSS_LAYER_HPP_
