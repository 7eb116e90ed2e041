from tests.field.conftest import event

__all__ = ["event"]
