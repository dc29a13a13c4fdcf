//! safetensors loading (pure: bytes in, tensors out). To be written.
