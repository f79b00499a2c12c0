// attention_fusion CPU driver: filled in by the attention_fusion implementation.
