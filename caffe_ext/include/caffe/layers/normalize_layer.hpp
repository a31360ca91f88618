#ifndef CAFFE_NORMALIZE_LAYER_HPP_
#define CAFFE_NORMALIZE_LAYER_HPP_

#include <vector>

#include "caffe/blob.hpp"
#include "caffe/layer.hpp"
#include "caffe/proto/caffe.pb.h"

namespace caffe {

/**
 * @brief L2 normalisation: y = x / (||x|| + eps).
 *
 * With normalize_param.across_spatial (the default) the norm is taken over
 * all C*H*W values of each sample; otherwise over the C channels at each
 * spatial position. For the 1x1 region vectors of R-MAC both are the same.
 */
template <typename Dtype>
class NormalizeLayer : public Layer<Dtype> {
 public:
  explicit NormalizeLayer(const LayerParameter& param)
      : Layer<Dtype>(param) {}
  virtual void LayerSetUp(const vector<Blob<Dtype>*>& bottom,
      const vector<Blob<Dtype>*>& top);
  virtual void Reshape(const vector<Blob<Dtype>*>& bottom,
      const vector<Blob<Dtype>*>& top);

  virtual inline const char* type() const { return "Normalize"; }
  virtual inline int ExactNumBottomBlobs() const { return 1; }
  virtual inline int ExactNumTopBlobs() const { return 1; }

 protected:
  virtual void Forward_cpu(const vector<Blob<Dtype>*>& bottom,
      const vector<Blob<Dtype>*>& top);
  virtual void Backward_cpu(const vector<Blob<Dtype>*>& top,
      const vector<bool>& propagate_down, const vector<Blob<Dtype>*>& bottom);

  bool across_spatial_;
  Dtype eps_;
  int num_;       // samples
  int channels_;  // values reduced per norm (stride spatial_ apart)
  int spatial_;   // norms per sample
  Blob<Dtype> norm_;  // num_ x spatial_ norms ||x||
};

}  // namespace caffe

#endif  // CAFFE_NORMALIZE_LAYER_HPP_
