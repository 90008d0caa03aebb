export default {
  title: 'Sign in',
  subtitle: 'Membership and loyalty points for shops',
  username: 'Username',
  password: 'Password',
  totp: 'Two-factor code',
  totpHint: 'Enter the 6 digits from your authenticator app, or a recovery code',
  submit: 'Sign in',
  usernameRequired: 'Enter your username',
  passwordRequired: 'Enter your password',
}
