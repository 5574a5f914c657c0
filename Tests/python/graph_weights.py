"""Seeded weights and images shared by Tests/python/test_graph_models.py and the fixture script
scripts/make_torchvision_fixtures.py: the same numpy streams give the same values on both sides."""
import numpy as np


def seeded_state_dict(shapes, seed):
    """Weights for (key, shape) pairs in order: batchnorm running variances in [0.5, 1.5],
    num_batches_tracked 0, everything else uniform with a fan-in scale so activations stay O(1)."""
    rng = np.random.default_rng(seed)
    weights = {}
    for key, shape in shapes:
        shape = tuple(shape)
        if key.endswith("num_batches_tracked"):
            weights[key] = np.zeros(shape, dtype=np.float32)
        elif key.endswith("running_var"):
            weights[key] = rng.uniform(0.5, 1.5, shape).astype(np.float32)
        elif len(shape) > 1:
            fan_in = int(np.prod(shape[1:]))
            weights[key] = rng.uniform(-1, 1, shape).astype(np.float32) * np.float32(np.sqrt(3.0 / fan_in))
        else:
            weights[key] = rng.uniform(-0.5, 0.5, shape).astype(np.float32)
    return weights


def formula_state_dict(shapes, seed):
    """Weights for (key, shape) pairs, each tensor drawn in float32 from its own stream
    np.random.default_rng([seed, i]) (i its place in the state_dict), fast and small enough for
    VGG's 25088x4096 classifier: matrices and kernels He-uniform (sqrt(6 / fan_in), so a deep
    ReLU stack keeps its signal and the logits depend on the image), normalisation weights and
    running variances in [0.5, 1.5], biases and running means in [-0.05, 0.05],
    num_batches_tracked 0."""
    weights = {}
    for i, (key, shape) in enumerate(shapes):
        shape = tuple(shape)
        u = np.random.default_rng([seed, i]).random(shape, dtype=np.float32)
        if key.endswith("num_batches_tracked"):
            u[...] = 0
        elif len(shape) > 1:
            u *= np.float32(2)
            u -= np.float32(1)
            u *= np.float32(np.sqrt(6.0 / int(np.prod(shape[1:]))))
        elif key.endswith("running_var") or key.endswith("weight"):
            u += np.float32(0.5)
        else:
            u -= np.float32(0.5)
            u *= np.float32(0.1)
        weights[key] = u
    return weights


def seeded_images(shape, seed):
    return np.random.default_rng(seed).uniform(0, 1, shape).astype(np.float32)
