// attention_fusion CUDA launchers: filled in by the attention_fusion implementation.
