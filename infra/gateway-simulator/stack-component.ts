import path from 'node:path';
import { simulatorComponent } from '../simulator-component';

/**
 * The payment gateway simulator as a part of the local stack (infra/simulator-component.ts: adopt,
 * start detached, stop, status). It listens where STS_GATEWAY_URL points and keeps its journal,
 * log and pid file under <STS_DATA_DIR>/gateway/. A non-loopback STS_GATEWAY_URL is a real
 * gateway: it is reported, never started.
 */

const gateway = simulatorComponent({
  name: 'gateway-simulator',
  label: 'gateway simulator',
  dir: 'gateway',
  urlVariable: 'STS_GATEWAY_URL',
  url: (config) => config.gatewayUrl,
  main: path.join(__dirname, 'main.ts'),
  remote: {
    label: 'payment gateway',
    fix: 'start that gateway, or unset STS_GATEWAY_URL to use the local simulator',
  },
});

export const gatewayPaths = gateway.paths;
export const gatewayUp = gateway.up;
export const gatewayDown = gateway.down;
export const gatewayStatus = gateway.status;
