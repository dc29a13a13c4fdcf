//! CPython-compatible random.Random (MT19937 + init_by_array). To be written.
