#include <cmath>
#include <vector>

#include "caffe/layers/normalize_layer.hpp"

namespace caffe {

template <typename Dtype>
void NormalizeLayer<Dtype>::LayerSetUp(const vector<Blob<Dtype>*>& bottom,
      const vector<Blob<Dtype>*>& top) {
  const NormalizeParameter& p = this->layer_param_.normalize_param();
  across_spatial_ = p.across_spatial();
  eps_ = p.eps();
  CHECK_GE(eps_, 0) << "normalize_param.eps must be >= 0";
}

template <typename Dtype>
void NormalizeLayer<Dtype>::Reshape(const vector<Blob<Dtype>*>& bottom,
      const vector<Blob<Dtype>*>& top) {
  CHECK_GE(bottom[0]->num_axes(), 1) << "Normalize needs a batch axis";
  top[0]->ReshapeLike(*bottom[0]);
  num_ = bottom[0]->shape(0);
  const int per_sample = num_ > 0 ? bottom[0]->count() / num_ : 0;
  if (across_spatial_ || bottom[0]->num_axes() < 3) {
    channels_ = per_sample;
    spatial_ = 1;
  } else {
    channels_ = bottom[0]->shape(1);
    spatial_ = bottom[0]->count(2);
  }
  norm_.Reshape(vector<int>{num_, spatial_});
}

template <typename Dtype>
void NormalizeLayer<Dtype>::Forward_cpu(const vector<Blob<Dtype>*>& bottom,
      const vector<Blob<Dtype>*>& top) {
  const Dtype* x = bottom[0]->cpu_data();
  Dtype* y = top[0]->mutable_cpu_data();
  Dtype* norm = norm_.mutable_cpu_data();
  const int per_sample = channels_ * spatial_;
  for (int n = 0; n < num_; ++n) {
    for (int s = 0; s < spatial_; ++s) {
      const int base = n * per_sample + s;
      Dtype sq = 0;
      for (int c = 0; c < channels_; ++c) {
        const Dtype v = x[base + c * spatial_];
        sq += v * v;
      }
      const Dtype nrm = std::sqrt(sq);
      norm[n * spatial_ + s] = nrm;
      const Dtype inv = Dtype(1) / (nrm + eps_);
      for (int c = 0; c < channels_; ++c) {
        y[base + c * spatial_] = x[base + c * spatial_] * inv;
      }
    }
  }
}

// With d = ||x|| + eps and y = x / d:
//   dx = dy / d - x * <x, dy> / (d^2 ||x||)
template <typename Dtype>
void NormalizeLayer<Dtype>::Backward_cpu(const vector<Blob<Dtype>*>& top,
      const vector<bool>& propagate_down, const vector<Blob<Dtype>*>& bottom) {
  if (!propagate_down[0]) {
    return;
  }
  const Dtype* x = bottom[0]->cpu_data();
  const Dtype* dy = top[0]->cpu_diff();
  const Dtype* norm = norm_.cpu_data();
  Dtype* dx = bottom[0]->mutable_cpu_diff();
  const int per_sample = channels_ * spatial_;
  for (int n = 0; n < num_; ++n) {
    for (int s = 0; s < spatial_; ++s) {
      const int base = n * per_sample + s;
      const Dtype nrm = norm[n * spatial_ + s];
      const Dtype d = nrm + eps_;
      Dtype dot = 0;
      for (int c = 0; c < channels_; ++c) {
        dot += x[base + c * spatial_] * dy[base + c * spatial_];
      }
      const Dtype k = nrm > 0 ? dot / (d * d * nrm) : Dtype(0);
      for (int c = 0; c < channels_; ++c) {
        const int i = base + c * spatial_;
        dx[i] = dy[i] / d - x[i] * k;
      }
    }
  }
}

INSTANTIATE_CLASS(NormalizeLayer);
REGISTER_LAYER_CLASS(Normalize);

}  // namespace caffe
