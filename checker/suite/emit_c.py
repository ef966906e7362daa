"""placeholder"""
def emit(root):
    raise NotImplementedError
