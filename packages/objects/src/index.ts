// Object-store notifications (AWS S3 records over HTTP, MinIO records over NATS) as events: the
// names the HTTP API and the capture role import.
export { readNotification } from './notification-records.js';
export { objectEventMessages, objectEvents } from './object-event.js';
export { NotificationConsumer } from './notification-consumer.js';
export type { NotificationConsumerOptions, NotificationStats } from './notification-consumer.js';
export { startObjectNotifications } from './start-notifications.js';
