# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dcvkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One place that derives how the stack is wired together from the inventory.

Every role reads the result of ``dcv_wiring``; no role recomputes another role's facts.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress

try:
    from ansible.errors import AnsibleError, AnsibleFilterError
except ImportError:  # pragma: no cover - only outside ansible
    AnsibleFilterError = AnsibleError = ValueError

from ansible_collections.dcvkit.session_manager.plugins.module_utils.dcv_products import PORTS
from ansible_collections.dcvkit.session_manager.plugins.module_utils.pki_names import is_ip_address
from ansible_collections.dcvkit.session_manager.plugins.module_utils.pki_names import is_dns_name as _pki_is_dns_name

# (variable, component, label) for every port the stack listens on, and each one's default (the product facts). The
# broker client default depends on whether a gateway shares the host, see _port_defaults.
PORT_VARIABLES = tuple((variable, component, label) for variable, component, label, _default, _key in PORTS)
PORT_DEFAULTS = dict((variable, default) for variable, _component, _label, default, _key in PORTS)

# Where a gateway shares the host, 8443 belongs to the gateway (browsers expect it there).
BROKER_CLIENT_PORT_BESIDE_GATEWAY = 8448

# Ports the clients of the broker use: all brokers of a cluster must agree on them.
CLIENT_FACING_BROKER_PORTS = ("dcv_broker_client_port", "dcv_broker_agent_port", "dcv_broker_gateway_port")

GROUPS = (("broker", "dcv_brokers"), ("gateway", "dcv_gateways"), ("server", "dcv_servers"))


def is_dns_name(value):
    """A host name usable in a certificate SAN and a URL; a wildcard as the left-most label is allowed here, since
    public names may be wildcards (pki_names holds the rule)."""
    return _pki_is_dns_name(value, allow_wildcard=True)


def _unique(items):
    seen = []
    for item in items:
        if item not in seen:
            seen.append(item)
    return seen


def _as_list(value):
    if value is None:
        return []
    if isinstance(value, (str, bytes)):
        return [value]
    return list(value)


def _read(host, hv, key, errors):
    """A host variable, or an error naming it when its template cannot be evaluated here.

    The usual cause: the value comes from facts (``ansible_facts['default_ipv4']``) and the playbook that
    asks (session.yml, verify.yml) gathers none. Without this the run stops on a bare templating error.
    """
    try:
        return hv.get(key)
    except AnsibleError as exc:
        errors.append("host %s: %s cannot be evaluated in this playbook (%s); give it a fixed value in the "
                      "inventory (facts are not gathered by every playbook)" % (host, key, str(exc).splitlines()[0]))
        return None


def _host_identity(host, hv, errors):
    name = _read(host, hv, "dcv_host_name", errors) or host
    if not is_dns_name(name):
        errors.append(
            "host %s: dcv_host_name %r is not a DNS name; set dcv_host_name to the host's DNS name "
            "(letters, digits, hyphens and dots)" % (host, name)
        )
    aliases = _as_list(_read(host, hv, "dcv_host_aliases", errors))
    for alias in aliases:
        if not is_dns_name(alias):
            errors.append("host %s: dcv_host_aliases entry %r is not a DNS name; list DNS names only "
                          "(put IP addresses in dcv_host_addresses)" % (host, alias))
    addresses = _as_list(_read(host, hv, "dcv_host_addresses", errors))
    for address in addresses:
        if not is_ip_address(address):
            errors.append("host %s: dcv_host_addresses entry %r is not an IP address; list IP addresses only "
                          "(put DNS names in dcv_host_aliases)" % (host, address))
    names = _unique([name] + [a for a in aliases if is_dns_name(a)])
    addresses = _unique([str(ipaddress.ip_address(str(a))) for a in addresses if is_ip_address(a)])
    return name, names, addresses


def _port_defaults(components):
    defaults = dict(PORT_DEFAULTS)
    if "broker" in components and "gateway" in components:
        defaults["dcv_broker_client_port"] = BROKER_CLIENT_PORT_BESIDE_GATEWAY
    return defaults


def _host_ports(host, hv, components, errors):
    defaults = _port_defaults(components)
    ports = {}
    for variable, component, _label in PORT_VARIABLES:
        if component not in components:
            continue
        value = hv.get(variable)
        if value is None or value == "":
            value = defaults[variable]
        try:
            port = int(value)
            if isinstance(value, bool) or str(port) != str(value).strip():
                raise ValueError(value)
        except (TypeError, ValueError):
            errors.append("host %s: %s = %r is not a port number; set it to an integer 1-65535" % (host, variable, value))
            continue
        if not 1 <= port <= 65535:
            errors.append("host %s: %s = %s is out of range; set it to a port number 1-65535" % (host, variable, port))
            continue
        ports[variable] = port
    labels = dict((v, label) for v, _c, label in PORT_VARIABLES)
    owner = {}
    for variable, _component, _label in PORT_VARIABLES:
        if variable not in ports:
            continue
        port = ports[variable]
        if port in owner:
            errors.append(
                "host %s: port clash on %s: %s (%s) and %s (%s) both use it; set one of them to another port"
                % (host, port, owner[port], labels[owner[port]], variable, labels[variable])
            )
        else:
            owner[port] = variable
    return ports


_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")


def _switch(host, hv, key, default, errors):
    """A boolean host variable (inventory values may be strings such as "false")."""
    value = _read(host, hv, key, errors)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    if str(value).strip().lower() in _TRUE:
        return True
    if str(value).strip().lower() in _FALSE:
        return False
    errors.append("host %s: %s = %r is not a boolean; set it to true or false" % (host, key, value))
    return default


def _split_names(values):
    dns = [v for v in values if not is_ip_address(v)]
    ips = [str(ipaddress.ip_address(str(v))) for v in values if is_ip_address(v)]
    return {"dns_names": _unique(dns), "ip_addresses": _unique(ips)}


def dcv_wiring(groups, hostvars, broker_name=None):
    """Return the wiring of the stack; inventory mistakes are listed in ``errors``, never raised."""
    if not isinstance(groups, dict):
        raise AnsibleFilterError("dcv_wiring expects the 'groups' variable as input")
    errors = []
    members = dict((component, _unique(_as_list(groups.get(group)))) for component, group in GROUPS)
    all_hosts = _unique(members["broker"] + members["gateway"] + members["server"])
    gateways_enabled = bool(members["gateway"])

    hosts = {}
    for host in all_hosts:
        hv = hostvars.get(host) or {}
        components = [c for c, _g in GROUPS if host in members[c]]
        name, names, addresses = _host_identity(host, hv, errors)
        ports = _host_ports(host, hv, components, errors)
        own = names + addresses
        certificates = {}
        mapping = {}
        if "server" in components:
            # sm-admin "Amazon DCV Session Manager Amazon DCV server - DNS mapping reference": the Connection Gateway
            # needs the DCV servers' DNS names to connect to them. The broker maps the address this server's agent
            # reports to dcv_host_name (dcv_broker registers it), the resolver hands the gateway that name, and the
            # certificate needs no IP address. Without a mapping the resolver hands out the IP the agent reports,
            # so the certificate must carry dcv_host_addresses (dcv_server_dns_mappings: false, or no gateway).
            wanted = _switch(host, hv, "dcv_server_dns_mappings", True, errors)
            mapping["dns_mapped"] = gateways_enabled and wanted
            certificates["server"] = _split_names(names if mapping["dns_mapped"] else own)
        if "gateway" in components:
            public = _as_list(hv.get("dcv_gateway_public_names"))
            if not public:
                errors.append(
                    "host %s: dcv_gateway_public_names is empty but the host is in dcv_gateways; set it to the "
                    "DNS names browsers use to reach the gateway (e.g. the PrivateLink endpoint name)" % host
                )
            for entry in public:
                if not (is_dns_name(entry) or is_ip_address(entry)):
                    errors.append("host %s: dcv_gateway_public_names entry %r is neither a DNS name nor an IP "
                                  "address; list the names browsers use, without scheme or port" % (host, entry))
            certificates["gateway"] = _split_names(
                [p for p in public if is_dns_name(p) or is_ip_address(p)] + own)
        hosts[host] = dict(mapping, **{
            "name": name,
            "names": names,
            "addresses": addresses,
            "components": components,
            "ports": ports,
            "certificates": certificates,
        })

    # sm-admin "Step 2: Set up the Amazon DCV Session Manager broker": install the broker on a host separate from
    # the agent and the DCV server ("Amazon DCV Session Manager requirements": the broker must be installed on a
    # separate host).
    for host in all_hosts:
        if host in members["broker"] and host in members["server"]:
            errors.append(
                "host %s is in both dcv_brokers and dcv_servers: the broker must run on a host of its own, never "
                "beside a DCV server and its agent (sm-admin \"Step 2: Set up the Amazon DCV Session Manager "
                "broker\"); remove %s from dcv_brokers or from dcv_servers" % (host, host))

    if broker_name is not None and broker_name != "" and not is_dns_name(broker_name) and not is_ip_address(broker_name):
        errors.append("dcv_broker_name %r is not a DNS name; set it to the name agents, DCV servers and "
                      "gateways use to reach the broker" % (broker_name,))
    brokers = members["broker"]
    if (members["server"] or members["gateway"]) and not brokers:
        errors.append("group dcv_brokers is empty but dcv_servers/dcv_gateways have hosts: the agents, DCV servers "
                      "and gateways need a broker; add the broker host(s) to dcv_brokers")
    if brokers:
        chosen_name = broker_name or hosts[brokers[0]]["name"]
    else:
        chosen_name = broker_name or None

    client_ports = {}
    for variable in CLIENT_FACING_BROKER_PORTS:
        values = _unique([hosts[b]["ports"].get(variable) for b in brokers if variable in hosts[b]["ports"]])
        if len(values) > 1:
            errors.append("%s differs between the brokers (%s); clients reach every broker of the cluster under "
                          "one name, so set the same %s on every host in dcv_brokers"
                          % (variable, ", ".join(str(v) for v in values), variable))
        client_ports[variable] = values[0] if values else PORT_DEFAULTS[variable]

    for broker in brokers:
        names = ([chosen_name] if chosen_name else []) + hosts[broker]["names"] + hosts[broker]["addresses"]
        hosts[broker]["certificates"]["broker"] = _split_names(_unique(names))

    # One mapping per address of every mapped DCV server: the agent reports one of them (the address it reaches the
    # broker from, "Ip" in DescribeServers); the wiring cannot tell which, and a mapping of an unused address is
    # harmless. "Id" changes whenever the host name or address changes and "Host.Aws.Ec2InstanceId" exists only on
    # EC2: neither is known from the inventory.
    server_dns_mappings = []
    mapped_by = {}
    for server in members["server"]:
        if not hosts[server].get("dns_mapped"):
            continue
        for address in hosts[server]["addresses"]:
            if address in mapped_by:
                errors.append("dcv_host_addresses entry %s is listed for both DCV servers %s and %s: the broker maps "
                              "one address to one DNS name (dcv_server_dns_mappings); list each server's own address"
                              % (address, mapped_by[address], server))
                continue
            mapped_by[address] = server
            server_dns_mappings.append({"ServerIdType": "Ip", "ServerId": address,
                                        "DnsNames": {"InternalDnsName": hosts[server]["name"]}})

    cluster_peers = []
    for broker in brokers:
        port = hosts[broker]["ports"].get("dcv_broker_discovery_port", PORT_DEFAULTS["dcv_broker_discovery_port"])
        cluster_peers.append("%s:%s" % (hosts[broker]["name"], port))

    return {
        "broker_name": chosen_name,
        "broker_client_port": client_ports["dcv_broker_client_port"],
        "broker_agent_port": client_ports["dcv_broker_agent_port"],
        "broker_gateway_port": client_ports["dcv_broker_gateway_port"],
        "broker_hosts": brokers,
        "gateway_hosts": members["gateway"],
        "server_hosts": members["server"],
        "gateways_enabled": gateways_enabled,
        # what dcv_broker registers (register-server-dns-mappings replaces every mapping): only when some DCV
        # server is mapped, so an inventory where every server has dcv_server_dns_mappings: false leaves the
        # broker's mappings alone
        "server_dns_mappings": server_dns_mappings,
        "server_dns_mappings_managed": any(hosts[s].get("dns_mapped") for s in members["server"]),
        "cluster_peers": cluster_peers,
        "hosts": hosts,
        "errors": errors,
    }


def dcv_broker_names(wiring):
    """Every name some broker certificate covers (for checking names a client is told to use)."""
    names = []
    for host in wiring.get("broker_hosts", []):
        cert = wiring["hosts"][host]["certificates"].get("broker", {})
        names.extend(cert.get("dns_names", []) + cert.get("ip_addresses", []))
    return _unique(names)


class FilterModule(object):
    def filters(self):
        return {
            "dcv_wiring": dcv_wiring,
            "dcv_broker_names": dcv_broker_names,
        }
