from tests.node.conftest import node

__all__ = ["node"]
