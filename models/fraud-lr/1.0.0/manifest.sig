{"alg":"Ed25519","keyId":"d3e4ea62b30f571e","signature":"DjC0L6gnpWov/MgNq8d73S/LXHd8SqifzS3D8cG2duivR2k8ckIVtSWxgQ3mVhyv63MPIDRQe8yZC+unA18rCA=="}
