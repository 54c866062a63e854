"""Fixtures for the PKI tests: a CA directory, host destinations, the two phases driven like the action plugin,
and ansible-playbook runs against localhost with a local connection."""

import json
import os
import subprocess
import sys

import pytest

from ansible_collections.dcvkit.session_manager.plugins.module_utils import pki_ca, pki_files, pki_host, pki_plan
from ansible_collections.dcvkit.session_manager.plugins.module_utils import pki_x509
from ansible_collections.dcvkit.session_manager.plugins.module_utils.pki_names import check_certificate_request

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
COLLECTIONS = os.path.join(REPO, '.collections')
BIN = os.path.dirname(sys.executable)


def make_ca(path, common_name='Test CA', key_type='ecdsa', passphrase=None, valid_days=3650, key=None):
    """Write a CA directory the way the ca module does (used where a playbook run would only slow tests down)."""
    os.makedirs(path, exist_ok=True)
    key = key or pki_x509.generate_key(key_type)
    cert_path, key_path = pki_ca.ca_file_paths(path)
    pki_files.write_atomically(key_path, pki_x509.private_key_pkcs8_pem(key, passphrase), -1, -1, 0o600)
    cert = pki_ca.build_ca_certificate(key, common_name, valid_days)
    pki_files.write_atomically(cert_path, pki_x509.certificate_pem(cert).encode('ascii'), -1, -1, 0o644)
    return key


def host_params(directory, **overrides):
    params = dict(
        ca_path=None, certificate_path=os.path.join(directory, 'server.pem'),
        private_key_path=os.path.join(directory, 'server.key'), ca_certificate_path=None, pkcs12_path=None,
        pkcs12_passphrase=None, dns_names=['server.example.internal'], ip_addresses=['127.0.0.1'],
        common_name=None, allow_wildcard=False, extended_key_usage=['serverAuth'], valid_days=397,
        renew_before_days=30, key_type='ecdsa', key_size=3072, owner=None, group=None, mode='0600',
        certificate_mode='0644', force=False)
    params.update(overrides)
    return params


class Issuer(object):
    """Drives inspect -> decide -> sign -> install exactly as plugins/action/certificate.py does."""

    def __init__(self, ca_dir, passphrase=None):
        self.ca_dir = ca_dir
        self.passphrase = passphrase

    def run(self, params, check_mode=False, now=None):
        request = check_certificate_request(params)
        ca = pki_ca.load_ca(self.ca_dir, self.passphrase)
        host = dict(params, common_name=request['common_name'])
        state = pki_host.inspect(host, ca.certificate_pem, check_mode)
        reasons = pki_plan.reissue_reasons(state, request, ca, params['renew_before_days'], params['force'], now=now)
        out_of_sync = (not state['ca_certificate_in_sync'] or not state['pkcs12_in_sync']
                       or bool(state['attributes_out_of_sync']))
        result = dict(reasons=reasons, state=state, installed=None,
                      changed=bool(state['changed'] or reasons or out_of_sync))
        if check_mode or not (reasons or out_of_sync):
            return result
        if reasons:
            pem = pki_x509.certificate_pem(ca.sign_csr(state['csr'], request['common_name'], request['dns_names'],
                                                       request['ip_addresses'], request['usages'],
                                                       params['valid_days']))
        else:
            pem = state['certificate']['pem']
        result['installed'] = pki_host.install(host, pem, ca.certificate_pem)
        result['changed'] = True
        return result


@pytest.fixture
def ca_dir(tmp_path):
    path = str(tmp_path / 'ca')
    make_ca(path)
    return path


@pytest.fixture
def host_dir(tmp_path):
    path = tmp_path / 'host'
    path.mkdir()
    return str(path)


@pytest.fixture
def issuer(ca_dir):
    return Issuer(ca_dir)


def run_playbook(tmp_path, tasks, check=False, diff=False, extra_args=(), host_vars=''):
    """Run tasks against localhost (local connection) with the JSON callback; return (rc, parsed output, raw)."""
    playbook = tmp_path / 'playbook.yml'
    playbook.write_text('- hosts: all\n  gather_facts: false\n  tasks:\n' + tasks)
    inventory = tmp_path / 'inventory.ini'
    inventory.write_text('testhost ansible_connection=local ansible_python_interpreter=%s %s\n'
                         % (os.environ.get('DCVKIT_PKI_HOST_PYTHON', sys.executable), host_vars))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_STDOUT_CALLBACK='ansible.builtin.json',
               ANSIBLE_NOCOLOR='1', ANSIBLE_RETRY_FILES_ENABLED='0', ANSIBLE_LOCAL_TEMP=str(tmp_path / '.ansible'),
               ANSIBLE_HOME=str(tmp_path / '.ansible'), PATH=BIN + os.pathsep + os.environ.get('PATH', ''))
    command = [os.path.join(BIN, 'ansible-playbook'), '-i', str(inventory), str(playbook)] + list(extra_args)
    if check:
        command.append('--check')
    if diff:
        command.append('--diff')
    process = subprocess.run(command, env=env, cwd=str(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             universal_newlines=True, timeout=300, check=False)
    try:
        parsed = json.loads(process.stdout)
    except ValueError:
        parsed = None
    return process.returncode, parsed, process.stdout + process.stderr


def task_results(parsed, host='testhost'):
    return [task['hosts'][host] for play in parsed['plays'] for task in play['tasks'] if host in task['hosts']]


@pytest.fixture
def playbook(tmp_path):
    def runner(tasks, **kwargs):
        return run_playbook(tmp_path, tasks, **kwargs)
    return runner


class _Toolkit(object):
    make_ca = staticmethod(make_ca)
    host_params = staticmethod(host_params)
    Issuer = Issuer
    task_results = staticmethod(task_results)


@pytest.fixture(scope='session')
def pki():
    """Helpers for the tests (importlib import mode: tests cannot import conftest directly)."""
    return _Toolkit
