"""The image service's local mode: AWS emulation (moto) plus an API Gateway (REST) emulator.

Runs the functions of ``template.yaml`` on this machine with no Docker and no AWS account.
"""
