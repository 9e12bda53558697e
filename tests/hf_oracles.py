"""What the oracle tests of several assignments share to call Hugging Face models."""
import torch


class CourseInterface(torch.nn.Module):
    """A transformers model called as the course models are: ids -> (logits, None)."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, idx):
        return self.model(idx).logits, None
