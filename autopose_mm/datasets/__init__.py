"""The built-in synthetic sample data: drawn people (``drawing``) written
as COCO and MPII datasets (``synthetic``)."""
from .drawing import COCO_KEYPOINTS, COCO_SKELETON, draw_image
from .synthetic import (
    SAMPLE_DATASETS,
    ensure_sample_data,
    generate_coco,
    generate_mpii,
)

__all__ = [
    'COCO_KEYPOINTS', 'COCO_SKELETON', 'SAMPLE_DATASETS', 'draw_image',
    'ensure_sample_data', 'generate_coco', 'generate_mpii'
]
